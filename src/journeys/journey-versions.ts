import { Injectable, Logger } from '@nestjs/common';
import type { PropertyFilter } from '../segments/rules';
import type { Queryable } from '../database/queryable';
import { derivedMailingId } from '../tracking/mailing-id';
import { BranchRule, checkDefinition } from './definition-check';
import { JourneyDefinition, Step, Trigger } from './journey-definition';
import { JourneysRepository, LiveJourneyRow, RunnableVersionRow } from './journeys.repository';

/** A published version, parsed once: its steps by id, branch rules as trees, and each send step's mailing. */
export interface RunnableVersion {
  journeyId: string;
  version: number;
  definition: JourneyDefinition;
  steps: ReadonlyMap<string, Step>;
  branches: ReadonlyMap<string, BranchRule>;
  triggerWhere: readonly PropertyFilter[];
  /** Whether a step needs the person's time zone (waitUntil, quiet hours). */
  usesLocalTime: boolean;
  /** Send step id → its template version, pinned at publish. */
  templateVersions: Readonly<Record<string, number>>;
}

export interface LiveJourney extends RunnableVersion {
  trigger: Trigger;
}

/** How long the list of enrolling journeys is trusted in another process than the one that changed it. */
const LIVE_TTL_MS = 1_000;

/**
 * Mail of a send step is one *mailing* per journey, version and step: its tokens, engagements,
 * counters and link slots (of the version's pinned template) are keyed by this id.
 */
export function journeyMailingId(journeyId: string, version: number, stepId: string): string {
  return derivedMailingId(`journey:${journeyId.toLowerCase()}:${version}:${stepId}`);
}

/** Published versions (immutable, so cached for good) and the journeys that enrol now (cached for a second). */
@Injectable()
export class JourneyVersions {
  private readonly versions = new Map<string, Promise<RunnableVersion>>();
  private live?: { at: number; journeys: Promise<LiveJourney[]> };
  private readonly logger = new Logger(JourneyVersions.name);

  constructor(private readonly repository: JourneysRepository) {}

  get(journeyId: string, version: number): Promise<RunnableVersion> {
    const key = `${journeyId}:${version}`;
    let v = this.versions.get(key);
    if (!v) {
      v = this.repository.runnable(journeyId, version).then((row) => {
        if (!row) throw new Error(`journey ${journeyId} has no version ${version}`);
        return parse(row);
      });
      v.catch(() => this.versions.delete(key));
      this.versions.set(key, v);
    }
    return v;
  }

  /**
   * Active journeys with the version new enrolments get. `q`: the caller's transaction, which reads
   * them when they must be read again — a caller holding a connection never waits for another from
   * the pool (thirty concurrent ingestion transactions would otherwise hold them all and wait).
   */
  enrolling(q?: Queryable): Promise<LiveJourney[]> {
    if (!this.live || Date.now() - this.live.at > LIVE_TTL_MS) {
      const journeys = this.repository.live(q).then((rows) => rows.flatMap((row) => this.parseLive(row)));
      journeys.catch(() => (this.live = undefined));
      this.live = { at: Date.now(), journeys };
    }
    return this.live.journeys;
  }

  /** One version that cannot be parsed (only a hand-edited row could be) enrols no one, and keeps no other journey from enrolling. */
  private parseLive(row: LiveJourneyRow): LiveJourney[] {
    try {
      const v = parse(row);
      return [{ ...v, trigger: v.definition.trigger }];
    } catch (e) {
      this.logger.error((e as Error).message);
      return [];
    }
  }

  /** A journey was published, paused, resumed or archived in this process: read again at once. */
  changed(): void {
    this.live = undefined;
  }
}

function parse(row: RunnableVersionRow): RunnableVersion {
  const { checked, problems } = checkDefinition(row.definition);
  // A version was checked when it was published; this can only be a bug or a hand-edited row.
  if (!checked)
    throw new Error(`journey ${row.journey_id} version ${row.version} does not parse: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
  const definition = checked.definition;
  return {
    journeyId: row.journey_id,
    version: row.version,
    definition,
    steps: new Map(definition.steps.map((s) => [s.id, s])),
    branches: checked.branches,
    triggerWhere: checked.triggerWhere,
    usesLocalTime: definition.steps.some((s) => s.type === 'waitUntil') || definition.settings.quietHours !== undefined,
    templateVersions: row.template_versions,
  };
}
