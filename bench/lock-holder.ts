// A foreign process holding the SQLite write lock (what a backup tool, `sqlite3` at a prompt or a second authwatch
// pointed at the same file does): `BEGIN IMMEDIATE` on its own connection, held for HOLD_MS, then COMMIT.
// Usage: node dist/bench/lock-holder.js DB_PATH HOLD_MS — prints one JSON line {"locked": epoch ms} once it holds
// the lock and {"released": epoch ms} after the commit, then exits. Its own event loop does nothing else, so the
// hold is exact; it exits (releasing the lock) when its stdin closes, so it never outlives the benchmark.
import Database from 'better-sqlite3';

function main(): void {
  const [path, holdText] = process.argv.slice(2);
  const holdMs = Number(holdText);
  if (!path || !Number.isFinite(holdMs) || holdMs < 0) throw new Error('usage: lock-holder.js DB_PATH HOLD_MS');
  const db = new Database(path, { fileMustExist: true });
  // The daemon commits every few milliseconds: wait for a gap between two of its transactions.
  db.pragma('busy_timeout = 30000');
  const requestedAt = Date.now();
  db.exec('BEGIN IMMEDIATE');
  process.stdout.write(`${JSON.stringify({ locked: Date.now(), waitedMs: Date.now() - requestedAt })}\n`);
  const release = (): void => {
    if (!db.inTransaction) return;
    db.exec('COMMIT');
    db.close();
    process.stdout.write(`${JSON.stringify({ released: Date.now() })}\n`);
    process.exit(0);
  };
  setTimeout(release, holdMs);
  process.stdin.on('end', release).on('close', release).resume();
}

try {
  main();
} catch (error) {
  process.stderr.write(`lock-holder: ${(error as Error).message}\n`);
  process.exit(1);
}
