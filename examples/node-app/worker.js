// The queue worker: `node worker.js`. Pops note ids from the Redis list notes:queue and marks the notes processed.
//
// On SIGTERM (systemctl stop) it finishes the note in hand and exits; an idle wait is cut short at once.
'use strict';
const { ClientOfflineError } = require('redis');
const { QUEUE, query, closeDb, connectRedis, closeRedis, describe } = require('./store');

const POP_TIMEOUT = 5; // seconds: also how long a stop may wait for an idle BRPOP to return

// A client of its own: BRPOP blocks its connection, so nothing else could use it meanwhile.
const queue = connectRedis('worker');
const log = (line) => console.log(`worker: ${line}`);
// A pause after an error ends at once on SIGTERM too: a worker restarted while Redis was still connecting
// would otherwise hold the deploy for its whole retry pause.
let wake = () => {};
const sleep = (ms) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
let stopping = false;
let waiting = false;

// A flag the loop checks between notes, so a note popped from the queue is never dropped halfway. A worker
// idle in BRPOP has nothing in hand: its connection is closed, which ends the wait now rather than after the
// timeout (a deploy restarts the worker and waits for it to stop).
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    stopping = true;
    log(`${signal} received: stopping after the current note`);
    if (waiting) queue.disconnect().catch(() => {});
    wake();
  });
}

async function main() {
  log(`waiting for notes on ${QUEUE}`);
  while (!stopping) {
    let popped;
    try {
      waiting = true;
      popped = await queue.brPop(QUEUE, POP_TIMEOUT);
    } catch (error) {
      if (stopping) break;
      // Offline: store.js has said so once already (and says when it is back), no need for a line a second.
      if (!(error instanceof ClientOfflineError)) log(`redis: ${describe(error)}; retrying in 1 s`);
      await sleep(1000);
      continue;
    }
    finally {
      waiting = false;
    }
    if (popped === null) continue; // the timeout: a chance to see `stopping`
    const id = Number(popped.element);
    try {
      const { rowCount } = await query('UPDATE notes SET processed = true, processed_at = now() WHERE id = $1', [id]);
      log(rowCount === 1 ? `note ${id} processed` : `note ${id} not found; dropped`);
    } catch (error) {
      // LPUSH queues at the head and BRPOP takes from the tail: RPUSH puts it back first in line.
      log(`database: ${describe(error)}; note ${id} requeued, retrying in 1 s`);
      await queue.rPush(QUEUE, String(id)).catch((e) => log(`redis: ${describe(e)}; note ${id} lost`));
      await sleep(1000);
    }
  }
  await Promise.allSettled([closeDb(), closeRedis(queue)]);
  log('stopped');
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`worker: ${describe(error)}`);
    process.exit(1);
  },
);
