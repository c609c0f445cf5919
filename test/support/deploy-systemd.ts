// Helpers for checking deploy/systemd/authwatch.service with the real systemd-analyze.
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The unit's settings as [key, value] pairs in file order (a key may repeat, as systemd allows). */
export function parseUnit(text: string): { section: string; key: string; value: string }[] {
  const entries: { section: string; key: string; value: string }[] = [];
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1];
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) entries.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
  }
  return entries;
}

/** The executables named by Exec*= lines (prefixes such as `-` or `@` removed). */
export function unitExecutables(text: string): string[] {
  return parseUnit(text)
    .filter((entry) => entry.key.startsWith('Exec'))
    .map((entry) => entry.value.replace(/^[-@:+!]+/, '').split(/\s+/)[0]);
}

/** "→ Overall exposure level for authwatch.service: 1.2 OK 🙂" → 1.2 */
export function parseExposure(securityOutput: string): number | null {
  const match = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(securityOutput);
  return match ? Number(match[1]) : null;
}

/**
 * A throw-away root directory in which `systemd-analyze verify --root=` can load the unit as installed:
 * the unit at /etc/systemd/system/NAME, the distribution's own units (sysinit.target, network-online.target, …,
 * copied from this host) and every executable the unit names. `executables` maps an absolute path in the
 * unit to the real file to place there (made executable); paths not in the map are copied from this host.
 */
export function makeSystemdRoot(unitName: string, unitText: string, executables: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'authwatch-systemd-root-'));
  for (const dir of ['etc/systemd/system', 'usr/bin', 'usr/sbin', 'usr/lib']) mkdirSync(join(root, dir), { recursive: true });
  // Debian's merged /usr: /bin, /sbin and /lib are links into /usr, as on the hosts the unit is written for.
  for (const link of ['bin', 'sbin', 'lib']) symlinkSync(`usr/${link}`, join(root, link));
  cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  writeFileSync(join(root, 'etc/systemd/system', unitName), unitText);
  for (const executable of unitExecutables(unitText)) {
    const target = join(root, executable);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(executables[executable] ?? executable, target);
    chmodSync(target, 0o755);
  }
  return root;
}
