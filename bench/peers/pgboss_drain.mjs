// pg-boss 12.35 draining N pre-enqueued no-op jobs in batches of 100 (issue 7, drain).
//
//   node pgboss_drain.mjs --url URL --jobs N --concurrency C [--batch-size 100]
//        [--pool-size C+2]
//
// The jobs are inserted in bulk (insert(), 10,000 a call) and the database ANALYZEd before
// the clock starts. The clock runs from work() until no job of the queue is left in state
// created, retry or active: pg-boss completes a batch with one statement after its handler
// returns.
import {
  emit, importPeer, now, parseArgs, peerVersion, pgClient, runMain, waitUntilEmpty,
} from './common.mjs';

runMain(async () => {
  const o = parseArgs({
    url: '', jobs: 200000, concurrency: 24, batchSize: 100, poolSize: 0, timeoutSeconds: 600,
  });
  const { PgBoss } = await importPeer('pg-boss');
  const boss = new PgBoss({
    connectionString: o.url,
    max: o.poolSize || o.concurrency + 2,
    // Nothing but the queue: no maintenance, cron or monitoring passes during the drain.
    supervise: false, schedule: false,
  });
  boss.on('error', (error) => console.error(`pg-boss error: ${error.message}`));
  await boss.start();
  await boss.createQueue('noop');
  const enqueueStart = now();
  for (let added = 0; added < o.jobs; added += 10000) {
    const n = Math.min(10000, o.jobs - added);
    await boss.insert('noop', Array.from({ length: n }, () => ({ data: {} })));
  }
  const enqueueSeconds = (now() - enqueueStart) / 1000;
  const client = await pgClient(o.url);
  await client.query('ANALYZE');

  let done = 0;
  let finish;
  const allHandled = new Promise((resolve) => { finish = resolve; });
  const workOptions = {
    batchSize: o.batchSize,
    // One fetch-handle-complete loop per unit of concurrency: up to `concurrency` batches in
    // flight at once.
    localConcurrency: o.concurrency,
    // Fetch again at once while fetches come back full, instead of waiting for the poll.
    burstWhenBatchFull: true,
    pollingIntervalSeconds: 0.5,
  };
  const started = now();
  await boss.work('noop', workOptions, async (jobs) => {
    done += jobs.length;
    if (done >= o.jobs) finish();
  });
  await allHandled;
  await waitUntilEmpty(async () => (await client.query(
    "SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'noop' AND state IN ('created', 'retry', 'active')",
  )).rows[0].n, o.timeoutSeconds * 1000);
  const seconds = (now() - started) / 1000;
  await boss.stop({ graceful: true, wait: true, timeout: 5000 });
  await client.end();
  emit({
    system: 'pg-boss', version: peerVersion('pg-boss'), jobs: o.jobs, seconds,
    jobs_per_s: o.jobs / seconds, enqueue_seconds: enqueueSeconds,
    options: { ...workOptions, max: o.poolSize || o.concurrency + 2 },
  });
});
