import { checkDefinition } from './definition-check';
import { parseDuration } from './journey-definition';

const TEMPLATE = '00000000-0000-4000-8000-000000000001';
const LIST = '00000000-0000-4000-8000-000000000002';
const send = (id: string, next?: string) => ({ id, type: 'send', templateId: TEMPLATE, subject: 'Hi', fromName: 'Shop', fromEmail: 'news@shop.example', next });
const welcome = {
  trigger: { type: 'listJoined', listId: LIST },
  steps: [send('hello', 'pause'), { id: 'pause', type: 'wait', duration: 'P2D', next: 'tips' }, send('tips')],
  settings: { lists: [LIST] },
};
const fields = (input: unknown) => checkDefinition(input).problems.map((p) => `${p.field}${p.step ? ` (${p.step as string})` : ''}: ${p.message}`);

describe('journey definitions', () => {
  it('accepts a welcome series and fills in the defaults', () => {
    const { checked, problems } = checkDefinition(welcome);
    expect(problems).toEqual([]);
    expect(checked!.definition.settings).toMatchObject({ reentry: 'never', lists: [LIST] });
    expect(checked!.definition.steps[0]).toMatchObject({ transactional: false });
  });

  it('names the field and the step of a bad shape', () => {
    expect(fields({ ...welcome, trigger: { type: 'sometimes' } })[0]).toMatch(/^trigger\.type: must be one of listJoined, event/);
    expect(fields({ ...welcome, steps: [send('hello', 'pause'), { id: 'pause', type: 'wait', duration: '2 days', next: 'tips' }, send('tips')] })).toEqual([
      expect.stringMatching(/^steps\[1\]\.duration \(pause\): must be an ISO 8601 duration/),
    ]);
    expect(fields({ ...welcome, steps: [{ ...send('hello'), fromEmail: 'nope' }] })).toEqual([expect.stringMatching(/^steps\[0\]\.fromEmail \(hello\)/)]);
    expect(fields({ ...welcome, steps: [{ ...send('hello'), colour: 'red' }] })[0]).toMatch(/^steps\[0\] \(hello\): Unrecognized key/);
  });

  it('refuses unknown step ids, repeated ids and steps no one reaches', () => {
    expect(fields({ ...welcome, steps: [send('hello', 'nowhere')] })).toEqual(['steps[0].next (hello): no step with id nowhere']);
    expect(fields({ ...welcome, steps: [send('hello', 'tips'), send('tips'), send('tips')] })).toEqual(['steps[2].id (tips): step id tips is used twice']);
    expect(fields({ ...welcome, steps: [send('hello'), send('lost')] })).toEqual([
      'steps[1].id (lost): step lost cannot be reached from the first step (hello)',
    ]);
  });

  it('refuses a cycle that does not pass a wait, and takes one that does', () => {
    const loop = [
      { id: 'check', type: 'branch', rules: { attribute: 'plan', op: 'eq', value: 'pro' }, yes: 'mail', no: 'bye' },
      send('mail', 'check'),
      { id: 'bye', type: 'exit' },
    ];
    expect(fields({ ...welcome, steps: loop })).toEqual(['steps[0] (check): steps check → mail → check form a cycle without a wait']);
    const waiting = [loop[0], send('mail', 'later'), { id: 'later', type: 'wait', duration: 'P7D', next: 'check' }, loop[2]];
    expect(fields({ ...welcome, steps: waiting })).toEqual([]);
  });

  it('reads branch rules as segment rules plus engagement with an earlier send step', () => {
    const branch = (rules: object) => ({
      ...welcome,
      steps: [
        send('hello', 'pause'),
        { id: 'pause', type: 'wait', duration: 'PT2S', next: 'did-open' },
        { id: 'did-open', type: 'branch', rules, yes: 'tips' },
        send('tips'),
      ],
    });
    expect(
      fields(
        branch({
          or: [
            { step: 'hello', engagement: 'opened' },
            { attribute: 'vip', op: 'eq', value: true },
          ],
        }),
      ),
    ).toEqual([]);
    expect(fields(branch({ step: 'pause', engagement: 'opened' }))).toEqual(['steps[2].rules.step (did-open): must be the id of a send step of this journey']);
    expect(fields(branch({ and: [{ engagement: 'opened', withinDays: -1 }] }))).toEqual([
      'steps[2].rules.and[0].withinDays (did-open): must be a number of days (0–36,500]',
    ]);
  });

  it('needs lists for marketing sends, not for transactional ones; checks splits', () => {
    expect(fields({ ...welcome, settings: {} })).toEqual([expect.stringMatching(/^settings\.lists: send steps/)]);
    expect(fields({ ...welcome, steps: [{ ...send('receipt'), transactional: true }], settings: {} })).toEqual([]);
    const split = { id: 'ab', type: 'split', weights: [50, 50, 1], next: ['a', 'b'] };
    expect(fields({ ...welcome, steps: [split, send('a'), send('b')] })).toEqual(['steps[0].weights (ab): needs one weight per next step']);
  });

  it('parses ISO 8601 durations from seconds to years', () => {
    expect(parseDuration('PT2S')).toMatchObject({ seconds: 2 });
    expect(parseDuration('P1M2DT3H')).toMatchObject({ months: 1, days: 2, hours: 3 });
    expect(parseDuration('P')).toBeNull();
    expect(parseDuration('PT')).toBeNull();
    expect(parseDuration('P1H')).toBeNull();
  });
});
