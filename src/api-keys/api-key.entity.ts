import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** `events:write` is for what posts customer events (a Segment write key, often shipped inside an app): that and nothing else. */
export const SCOPES = ['admin', 'write', 'read', 'events:write'] as const;
export type Scope = (typeof SCOPES)[number];

@Entity('api_keys')
export class ApiKey {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('text') prefix!: string;
  @Column({ type: 'bytea', name: 'secret_hash' }) secretHash!: Buffer;
  @Column({ type: 'text', array: true }) scopes!: Scope[];
  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' }) createdAt!: Date;
  @Column({ type: 'timestamptz', name: 'last_used_at', nullable: true }) lastUsedAt!: Date | null;
}
