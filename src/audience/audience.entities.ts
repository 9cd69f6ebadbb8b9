import { Column, CreateDateColumn, Entity, PrimaryColumn, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export type OptIn = 'single' | 'double';
export type SubscriptionStatus = 'pending' | 'confirmed' | 'unsubscribed';
export type ConsentAction = 'subscribe' | 'confirm' | 'unsubscribe' | 'erase';
/** `link`: an unsubscribe link or the preference centre of a campaign mail. */
export type ConsentSource = 'api' | 'form' | 'import' | 'admin' | 'link';
export type SuppressionReason = 'unsubscribed' | 'hard_bounce' | 'complaint' | 'manual' | 'erased';
export type ImportStatus = 'receiving' | 'queued' | 'running' | 'completed' | 'failed';

@Entity('lists')
export class MailingList {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column({ type: 'text', nullable: true }) description!: string | null;
  @Column({ type: 'text', name: 'opt_in' }) optIn!: OptIn;
  /** The wording people agree to on the list's public form; `consentVersion` counts its changes. */
  @Column({ type: 'text', name: 'consent_text', nullable: true }) consentText!: string | null;
  @Column({ type: 'int', name: 'consent_version', default: 0 }) consentVersion!: number;
  @Column({ type: 'boolean', name: 'form_enabled' }) formEnabled!: boolean;
  @Column({ type: 'boolean', name: 'form_challenge', default: true }) formChallenge!: boolean;
  /** Other sites' origins that may post JSON to the form (CORS) and frame the hosted page. */
  @Column({ type: 'text', array: true, name: 'form_origins', default: () => "'{}'" }) formOrigins!: string[];
  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' }) updatedAt!: Date;
}

@Entity('subscribers')
export class Subscriber {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'text', nullable: true }) email!: string | null;
  @Column({ type: 'text', nullable: true }) name!: string | null;
  @Column({ type: 'jsonb', default: {} }) attributes!: Record<string, unknown>;
  @Column({ type: 'text', nullable: true }) timezone!: string | null;
  @Column({ type: 'timestamptz', name: 'erased_at', nullable: true }) erasedAt!: Date | null;
  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' }) updatedAt!: Date;
}

@Entity('subscriptions')
export class Subscription {
  @PrimaryColumn({ type: 'uuid', name: 'subscriber_id' }) subscriberId!: string;
  @PrimaryColumn({ type: 'uuid', name: 'list_id' }) listId!: string;
  @Column('text') status!: SubscriptionStatus;
  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' }) updatedAt!: Date;
  @Column({ type: 'timestamptz', name: 'confirmed_at', nullable: true }) confirmedAt!: Date | null;
  @Column({ type: 'timestamptz', name: 'unsubscribed_at', nullable: true }) unsubscribedAt!: Date | null;
}

@Entity('consent_events')
export class ConsentEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column({ type: 'uuid', name: 'subscriber_id' }) subscriberId!: string;
  @Column({ type: 'uuid', name: 'list_id', nullable: true }) listId!: string | null;
  @Column('text') action!: ConsentAction;
  @Column('text') source!: ConsentSource;
  @Column({ type: 'text', nullable: true }) status!: SubscriptionStatus | null;
  @Column({ type: 'text', name: 'consent_text', nullable: true }) consentText!: string | null;
  @Column({ type: 'int', name: 'consent_version', nullable: true }) consentVersion!: number | null;
  @Column({ type: 'inet', nullable: true }) ip!: string | null;
  @Column({ type: 'text', name: 'user_agent', nullable: true }) userAgent!: string | null;
  @Column({ type: 'uuid', name: 'import_id', nullable: true }) importId!: string | null;
  @Column({ type: 'timestamptz', name: 'occurred_at' }) occurredAt!: Date;
}

@Entity('suppressions')
export class Suppression {
  @PrimaryColumn({ type: 'bytea', name: 'email_hash' }) emailHash!: Buffer;
  @Column({ type: 'text', nullable: true }) email!: string | null;
  @Column('text') reason!: SuppressionReason;
  @Column({ type: 'text', nullable: true }) note!: string | null;
  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' }) createdAt!: Date;
}

@Entity('imports')
export class Import {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'uuid', name: 'list_id' }) listId!: string;
  @Column('text') status!: ImportStatus;
  @Column({ type: 'text', nullable: true }) filename!: string | null;
  @Column({ type: 'text', name: 'consent_text', nullable: true }) consentText!: string | null;
  @Column({ type: 'bigint' }) bytes!: string;
  @Column({ type: 'bigint', name: 'bytes_processed' }) bytesProcessed!: string;
  @Column('integer') total!: number;
  @Column({ type: 'integer', name: 'rows_processed' }) rowsProcessed!: number;
  @Column('integer') created!: number;
  @Column('integer') updated!: number;
  @Column('integer') skipped!: number;
  @Column({ type: 'integer', name: 'error_count' }) errorCount!: number;
  @Column({ type: 'text', nullable: true }) failure!: string | null;
  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' }) createdAt!: Date;
  @Column({ type: 'timestamptz', name: 'started_at', nullable: true }) startedAt!: Date | null;
  @Column({ type: 'timestamptz', name: 'finished_at', nullable: true }) finishedAt!: Date | null;
}
