/**
 * The open application's token, kept in this browser's local storage so a reload reopens it. Storage
 * can be unavailable (privacy settings, a full quota): the page then works for this visit only.
 */
const KEY = "chat-backend.token";

export const savedToken = (): string | null => {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
};

export function saveToken(token: string | null): void {
  try {
    if (token === null) localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, token);
  } catch {}
}
