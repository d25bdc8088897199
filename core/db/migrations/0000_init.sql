CREATE TABLE `applications` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`token` char(32) NOT NULL,
	`name` varchar(255) NOT NULL,
	`chats_count` int unsigned NOT NULL DEFAULT 0,
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `applications_id` PRIMARY KEY(`id`),
	CONSTRAINT `applications_token_unique` UNIQUE(`token`)
);
--> statement-breakpoint
CREATE TABLE `chats` (
	`application_id` bigint unsigned NOT NULL,
	`number` int unsigned NOT NULL,
	`name` varchar(255),
	`messages_count` int unsigned NOT NULL DEFAULT 0,
	`version` bigint unsigned NOT NULL,
	`deleted_at` datetime(3),
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `chats_pk` PRIMARY KEY(`application_id`,`number`)
);
--> statement-breakpoint
CREATE TABLE `messages` (
	`application_id` bigint unsigned NOT NULL,
	`chat_number` int unsigned NOT NULL,
	`number` int unsigned NOT NULL,
	`body` text NOT NULL,
	`version` bigint unsigned NOT NULL,
	`deleted_at` datetime(3),
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `messages_pk` PRIMARY KEY(`application_id`,`chat_number`,`number`)
);
