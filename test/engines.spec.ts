import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';

/** package.json's `engines.node` and the installed dependencies agree: each Node line we claim runs all of them. */
describe('Node versions', () => {
  const root = join(__dirname, '..');
  const claimed: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines.node;
  const lock: { packages: Record<string, { engines?: { node?: string } | string[] }> } = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));

  it('every package in the lock file accepts the oldest release of each Node line in engines', () => {
    const oldest = claimed.split('||').map((range) => semver.minVersion(range)!.version);
    const refused: string[] = [];
    for (const [path, pkg] of Object.entries(lock.packages)) {
      const wants = !Array.isArray(pkg.engines) ? pkg.engines?.node : undefined;
      if (!path || !wants) continue;
      for (const version of oldest)
        if (!semver.satisfies(version, wants)) refused.push(`${path.replace(/^node_modules\//, '')} wants node ${wants}, not ${version}`);
    }
    expect(refused).toEqual([]);
    expect(semver.satisfies(process.version, claimed)).toBe(true);
  });
});
