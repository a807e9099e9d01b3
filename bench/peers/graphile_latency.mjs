// graphile-worker 0.18 (batch-mode options, as in the drain) enqueue -> handler start latency
// (issue 7, latency). Jobs arrive one at a time at a fixed rate (addJob, one transaction and
// its NOTIFY each) while the worker idles; a job's latency runs from just before its
// addJob() call to the start of its handler, both read from this process's monotonic clock.
//
//   node graphile_latency.mjs --url URL --jobs K --rate R --concurrency C [--warmup W]
import {
  emit, importPeer, now, paced, parseArgs, peerVersion, percentiles, runMain, sleep,
} from './common.mjs';

runMain(async () => {
  const o = parseArgs({
    url: '', jobs: 2000, rate: 100, concurrency: 24, localQueue: 500, completeBatchDelay: 0,
    warmup: 50,
  });
  const gw = await importPeer('graphile-worker');
  const logger = new gw.Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning') console.error(`graphile-worker ${level}: ${message}`);
  });
  await gw.runMigrations({ connectionString: o.url, logger });
  const total = o.jobs + o.warmup;
  const sentAt = new Float64Array(total);
  const latency = new Float64Array(total);
  let done = 0;
  let finish;
  const allHandled = new Promise((resolve) => { finish = resolve; });
  const taskList = {
    noop: async (payload) => {
      latency[payload.i] = now() - sentAt[payload.i];
      if (++done === total) finish();
    },
  };
  const runner = await gw.run({
    taskList, noHandleSignals: true,
    preset: {
      worker: {
        connectionString: o.url, concurrentJobs: o.concurrency, maxPoolSize: o.concurrency + 1,
        localQueue: { size: o.localQueue }, completeJobBatchDelay: o.completeBatchDelay,
        failJobBatchDelay: o.completeBatchDelay, logger,
      },
    },
  });
  const utils = await gw.makeWorkerUtils({ connectionString: o.url, logger });
  await sleep(500);  // the worker is listening
  await paced(total, o.rate, async (i) => {
    sentAt[i] = now();
    await utils.addJob('noop', { i });
  });
  await allHandled;
  await runner.stop();
  await utils.release();
  emit({
    system: 'graphile-worker', version: peerVersion('graphile-worker'), jobs: o.jobs,
    rate: o.rate, unit: 'ms', measured: 'addJob() call -> handler start, in process',
    ...percentiles(Array.from(latency.subarray(o.warmup))),
  });
});
