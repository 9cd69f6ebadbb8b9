/**
 * Which list a campaign mail went out for is the campaigns' to know (their `messages`); the pages
 * behind its unsubscribe and preference links ask through this, which the campaigns provide (a
 * global provider), so that the audience does not depend on them.
 */
export const MESSAGE_DIRECTORY = Symbol('MESSAGE_DIRECTORY');

export interface MessageDirectory {
  /** The list the recipient got the campaign through; undefined when there is no such message. */
  listOf(campaignId: string, subscriberId: string): Promise<string | undefined>;
}
