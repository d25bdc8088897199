/** Every service of the API, built once from the dependencies and handed to the routes. */
import { chatGuard } from "./common/chat-guard.ts";
import { redisState } from "./common/redis-state.ts";
import type { Deps } from "./deps.ts";
import { applicationService } from "./features/applications/service.ts";
import { chatService } from "./features/chats/service.ts";
import { messageService } from "./features/messages/service.ts";
import { webhookService } from "./features/webhooks/service.ts";

export function buildServices(deps: Deps) {
  const state = redisState(deps);
  const guard = chatGuard(deps, state);
  const applications = applicationService(deps);
  return {
    guard,
    applications,
    webhooks: webhookService(deps, applications),
    chats: chatService(deps, state),
    messages: messageService(deps, state, guard),
  };
}

export type Services = ReturnType<typeof buildServices>;
