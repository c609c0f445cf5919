// How much the event loop got to run while something worked: a test of work that must yield between transactions.

/** Counts the event loop's turns until `stop()`: work that yields between its transactions lets it turn. */
export function countEventLoopTurns(): { stop: () => number } {
  let turns = 0;
  let spinning = true;
  const spin = () => {
    if (!spinning) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  return {
    stop: () => {
      spinning = false;
      return turns;
    },
  };
}
