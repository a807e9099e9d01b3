// graphile-worker 0.18 in batch mode draining N pre-enqueued no-op jobs (issue 7, drain).
//
//   node graphile_drain.mjs --url URL --jobs N --concurrency C [--local-queue 500]
//        [--complete-batch-delay 0] [--pool-size C+1]
//
// The jobs are added in bulk (addJobs, 10,000 a call) and the database ANALYZEd before the
// clock starts. The clock runs from run() (pool start-up included) until the last job's row
// is gone from graphile_worker._private_jobs: with batched completion a job only counts once
// the batch that deletes it has committed.
import {
  emit, importPeer, now, parseArgs, peerVersion, pgClient, runMain, waitUntilEmpty,
} from './common.mjs';

runMain(async () => {
  const o = parseArgs({
    url: '', jobs: 200000, concurrency: 24, localQueue: 500, completeBatchDelay: 0,
    poolSize: 0, timeoutSeconds: 600,
  });
  const gw = await importPeer('graphile-worker');
  const logger = new gw.Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning') console.error(`graphile-worker ${level}: ${message}`);
  });
  await gw.runMigrations({ connectionString: o.url, logger });
  const utils = await gw.makeWorkerUtils({ connectionString: o.url, logger });
  const enqueueStart = now();
  for (let added = 0; added < o.jobs; added += 10000) {
    const n = Math.min(10000, o.jobs - added);
    await utils.addJobs(Array.from({ length: n }, () => ({ identifier: 'noop', payload: {} })));
  }
  const enqueueSeconds = (now() - enqueueStart) / 1000;
  await utils.release();
  const client = await pgClient(o.url);
  await client.query('ANALYZE');

  let done = 0;
  let finish;
  const allHandled = new Promise((resolve) => { finish = resolve; });
  const taskList = { noop: async () => { if (++done === o.jobs) finish(); } };
  const preset = {
    worker: {
      connectionString: o.url,
      concurrentJobs: o.concurrency,
      maxPoolSize: o.poolSize || o.concurrency + 1,
      // Batch mode (https://worker.graphile.org/docs/performance#batching): the pool locks
      // and pulls localQueue.size jobs at a time and hands them to its workers locally...
      localQueue: { size: o.localQueue },
      // ...and completions (and failures) made within this window commit as one batch.
      completeJobBatchDelay: o.completeBatchDelay,
      failJobBatchDelay: o.completeBatchDelay,
      logger,
    },
  };
  const started = now();
  const runner = await gw.run({ taskList, noHandleSignals: true, preset });
  await allHandled;
  await waitUntilEmpty(async () =>
    (await client.query('SELECT count(*)::int AS n FROM graphile_worker._private_jobs')).rows[0].n,
  o.timeoutSeconds * 1000);
  const seconds = (now() - started) / 1000;
  await runner.stop();
  await client.end();
  emit({
    system: 'graphile-worker', version: peerVersion('graphile-worker'), jobs: o.jobs,
    seconds, jobs_per_s: o.jobs / seconds, enqueue_seconds: enqueueSeconds,
    options: {
      concurrentJobs: o.concurrency, maxPoolSize: preset.worker.maxPoolSize,
      localQueue: preset.worker.localQueue, completeJobBatchDelay: o.completeBatchDelay,
      failJobBatchDelay: o.completeBatchDelay,
    },
  });
});
