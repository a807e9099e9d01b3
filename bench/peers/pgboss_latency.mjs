// pg-boss 12.35 (LISTEN/NOTIFY on, batches of 100 as in the drain) enqueue -> handler start
// latency (issue 7, latency). Jobs arrive one at a time at a fixed rate (send(), one
// transaction each) while the workers idle; a job's latency runs from just before its send()
// call to the start of the batch handler that receives it, both read from this process's
// monotonic clock.
//
//   node pgboss_latency.mjs --url URL --jobs K --rate R --concurrency C [--warmup W]
import {
  emit, importPeer, now, paced, parseArgs, peerVersion, percentiles, runMain, sleep,
} from './common.mjs';

runMain(async () => {
  const o = parseArgs({ url: '', jobs: 2000, rate: 100, concurrency: 24, batchSize: 100, warmup: 50 });
  const { PgBoss } = await importPeer('pg-boss');
  const boss = new PgBoss({
    connectionString: o.url, max: o.concurrency + 2, supervise: false, schedule: false,
    // Wake workers by NOTIFY the moment a job is created (polling stays as a backstop).
    useListenNotify: true,
  });
  boss.on('error', (error) => console.error(`pg-boss error: ${error.message}`));
  await boss.start();
  await boss.createQueue('lat', { notify: true });
  const total = o.jobs + o.warmup;
  const sentAt = new Float64Array(total);
  const latency = new Float64Array(total);
  let done = 0;
  let finish;
  const allHandled = new Promise((resolve) => { finish = resolve; });
  await boss.work('lat', {
    batchSize: o.batchSize, localConcurrency: o.concurrency, burstWhenBatchFull: true,
    pollingIntervalSeconds: 0.5,
  }, async (jobs) => {
    const t = now();
    for (const job of jobs) latency[job.data.i] = t - sentAt[job.data.i];
    done += jobs.length;
    if (done >= total) finish();
  });
  await sleep(500);  // the listener is up
  await paced(total, o.rate, async (i) => {
    sentAt[i] = now();
    await boss.send('lat', { i });
  });
  await allHandled;
  await boss.stop({ graceful: true, wait: true, timeout: 5000 });
  emit({
    system: 'pg-boss', version: peerVersion('pg-boss'), jobs: o.jobs, rate: o.rate, unit: 'ms',
    measured: 'send() call -> batch handler start, in process',
    ...percentiles(Array.from(latency.subarray(o.warmup))),
  });
});
