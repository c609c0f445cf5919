// Real file systems for the storage fault tests: a small tmpfs (a disk that fills up) and a loop-file ext4 (a disk
// that can be made to fail). Mounting needs root (CAP_SYS_ADMIN); `mountSkipReason` says why a test cannot run.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';

/** Why mounting is impossible here, or null when it is possible. */
export function mountSkipReason(): string | null {
  if (process.platform !== 'linux') return `mounting file systems is done on Linux only (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'mounting a file system needs root; run the tests as root to include this one';
  return null;
}

export function run(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function mountTmpfs(dir: string, sizeBytes: number): () => void {
  mkdirSync(dir, { recursive: true });
  run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir]);
  return () => run('umount', ['-l', dir]);
}

/** Writes zeros to `path` until the file system has no space left; returns the bytes written. */
export function fillUp(path: string): number {
  const fd = openSync(path, 'w');
  let written = 0;
  try {
    for (const size of [1 << 20, 1 << 16, 1 << 12, 512, 1]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          written += writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

export interface LoopExt4 {
  device: string;
  /** /sys/fs/ext4/<device>/ */
  sysfs: string;
  mount(): void;
  unmount(): void;
  /** Detaches the loop device (after unmount). */
  detach(): void;
}

/** A fresh ext4 in `image` (sizeBytes), attached to a loop device, mounted on `dir` with `options`. */
export function loopExt4(image: string, dir: string, sizeBytes: number, options: string): LoopExt4 {
  run('truncate', ['-s', String(sizeBytes), image]);
  const device = run('losetup', ['-f', '--show', image]);
  run('mkfs.ext4', ['-q', '-F', device]);
  mkdirSync(dir, { recursive: true });
  const name = device.replace('/dev/', '');
  let mounted = false;
  const handle: LoopExt4 = {
    device,
    sysfs: `/sys/fs/ext4/${name}`,
    mount: () => {
      run('mount', ['-t', 'ext4', '-o', options, device, dir]);
      mounted = true;
    },
    unmount: () => {
      if (!mounted) return;
      run('umount', [dir]);
      mounted = false;
    },
    detach: () => {
      handle.unmount();
      run('losetup', ['-d', device]);
    },
  };
  handle.mount();
  return handle;
}
