CREATE TABLE `webhook_endpoints` (
	`seq` bigint unsigned AUTO_INCREMENT NOT NULL,
	`id` varchar(40) NOT NULL,
	`application_id` bigint unsigned NOT NULL,
	`url` varchar(2048) NOT NULL,
	`events` varchar(255) NOT NULL,
	`description` varchar(255),
	`secret` varchar(64) NOT NULL,
	`created_at` datetime(3) NOT NULL,
	CONSTRAINT `webhook_endpoints_seq` PRIMARY KEY(`seq`),
	CONSTRAINT `webhook_endpoints_id_unique` UNIQUE(`id`)
);
--> statement-breakpoint
ALTER TABLE `applications` ADD `webhooks_version` int unsigned DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `webhook_endpoints_application` ON `webhook_endpoints` (`application_id`,`seq`);