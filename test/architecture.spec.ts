import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { cycles, folderEdges } from '../scripts/folder-cycles';

const ROOT = resolve(__dirname, '..');
const SRC = join(ROOT, 'src');

/** Every table and the capability folder whose repositories alone read and write it (README, "Architecture"). */
const OWNERS: Record<string, string> = {
  lists: 'audience',
  subscribers: 'audience',
  subscriptions: 'audience',
  consent_events: 'audience',
  suppressions: 'audience',
  bounce_counts: 'audience',
  imports: 'audience',
  import_chunks: 'audience',
  import_errors: 'audience',
  import_progress: 'audience',
  templates: 'content',
  template_versions: 'content',
  campaigns: 'campaigns',
  messages: 'campaigns',
  message_outcomes: 'campaigns',
  campaign_links: 'tracking',
  events: 'analytics',
  engagements: 'analytics',
  conversions: 'analytics',
  campaign_stats: 'analytics',
  campaign_stats_hourly: 'analytics',
  campaign_revenue: 'analytics',
  api_keys: 'api-keys',
  segments: 'segments',
  segment_memberships: 'segments',
  journeys: 'journeys',
  journey_versions: 'journeys',
  journey_enrolments: 'journeys',
  journey_steps: 'journeys',
  journey_messages: 'journeys',
  customer_events: 'customers',
  customer_event_message_ids: 'customers',
  webhook_endpoints: 'webhooks',
  webhook_events: 'webhooks',
  webhook_deliveries: 'webhooks',
  transactional_messages: 'transactional',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** The tables a file's SQL names after FROM, JOIN, INTO, UPDATE, TABLE or COPY, with the keyword. */
function tablesIn(text: string): { table: string; write: boolean }[] {
  const names = Object.keys(OWNERS).join('|');
  const found = text.matchAll(new RegExp(`\\b(FROM|JOIN|INSERT INTO|UPDATE|DELETE FROM|COPY|TRUNCATE|ALTER TABLE)\\s+(${names})\\b`, 'g'));
  return [...found].map((m) => ({ table: m[2], write: m[1] !== 'FROM' && m[1] !== 'JOIN' }));
}

describe('architecture', () => {
  it('has no import cycle between the capability folders of src/', () => {
    expect(cycles(folderEdges())).toEqual([]);
  });

  it('finds a cycle when there is one, however long', () => {
    const edge = (from: string, to: string) => ({ from, to, example: `${from} → ${to}` });
    expect(cycles([edge('a', 'b'), edge('b', 'c'), edge('c', 'a'), edge('c', 'd')])).toEqual([['a', 'b', 'c']]);
    expect(cycles([edge('a', 'b'), edge('b', 'c'), edge('a', 'c')])).toEqual([]);
  });

  it('knows the owner of every table the migrations create', () => {
    const created = new Set<string>();
    for (const file of readdirSync(join(ROOT, 'migrations'))) {
      for (const m of readFileSync(join(ROOT, 'migrations', file), 'utf8').matchAll(/CREATE TABLE (?:IF NOT EXISTS )?"?(\w+)/g)) created.add(m[1]);
    }
    expect([...created].sort()).toEqual(Object.keys(OWNERS).sort());
  });

  it('reads and writes each table only in the repositories of its owner folder', () => {
    const strays: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const path = relative(SRC, file);
      const folder = path.split(sep)[0];
      for (const { table, write } of tablesIn(readFileSync(file, 'utf8'))) {
        if (folder !== OWNERS[table]) strays.push(`${path} ${write ? 'writes' : 'reads'} ${table} (owned by ${OWNERS[table]})`);
        else if (!path.endsWith('.repository.ts')) strays.push(`${path} ${write ? 'writes' : 'reads'} ${table} outside a repository`);
      }
    }
    expect(strays).toEqual([]);
  });

  it('maps each table to an entity only in its owner folder, and injects TypeORM repositories only in its repositories', () => {
    const strays: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const path = relative(SRC, file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/@Entity\(\s*['"](\w+)['"]/g)) {
        if (path.split(sep)[0] !== OWNERS[m[1]]) strays.push(`${path} maps ${m[1]} (owned by ${OWNERS[m[1]]})`);
      }
      if (/@InjectRepository\(/.test(text) && !path.endsWith('.repository.ts')) strays.push(`${path} injects a TypeORM repository`);
    }
    expect(strays).toEqual([]);
  });
});
