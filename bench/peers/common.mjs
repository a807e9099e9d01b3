// Shared by the peer drivers that bench/suite runs (issue 7). The peers live outside the
// repository, in the folder bench/peers/install filled (REDRIVE_BENCH_PEERS); the drivers
// import them from there. Every driver prints exactly one JSON object on stdout, its result;
// anything else goes to stderr.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

export const now = () => performance.now();
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A package from the peers folder's node_modules.
export async function importPeer(name) {
  const dir = process.env.REDRIVE_BENCH_PEERS;
  if (!dir) throw new Error('REDRIVE_BENCH_PEERS is not set (run bench/peers/install first)');
  const require = createRequire(path.join(dir, 'package.json'));
  return import(pathToFileURL(require.resolve(name)).href);
}

export function peerVersion(name) {
  const file = path.join(process.env.REDRIVE_BENCH_PEERS, 'node_modules', name, 'package.json');
  return JSON.parse(readFileSync(file, 'utf8')).version;
}

// --name value pairs; every option has a default, numbers stay numbers.
export function parseArgs(defaults) {
  const options = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in defaults)) throw new Error(`unknown option ${argv[i]}`);
    const value = argv[i + 1];
    options[key] = typeof defaults[key] === 'number' ? Number(value) : value;
  }
  if (!options.url) throw new Error('--url is required');
  return options;
}

export async function pgClient(url) {
  const { default: pg } = await importPeer('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

// Nearest-rank percentiles of a list of numbers.
export function percentiles(values, ps = [50, 95, 99]) {
  const sorted = [...values].sort((a, b) => a - b);
  const out = {};
  for (const p of ps) {
    const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
    out[`p${p}`] = sorted.length ? sorted[rank - 1] : null;
  }
  out.max = sorted.length ? sorted[sorted.length - 1] : null;
  return out;
}

export function emit(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
}

// Polls until `remaining()` is 0; throws after `timeoutMs`.
export async function waitUntilEmpty(remaining, timeoutMs, everyMs = 5) {
  const deadline = now() + timeoutMs;
  while (true) {
    const left = await remaining();
    if (left === 0) return;
    if (now() > deadline) throw new Error(`timed out with ${left} jobs left`);
    await sleep(everyMs);
  }
}

// Open-loop arrivals: job i is sent at start + i * interval, whatever happened before.
export async function paced(count, ratePerSecond, send) {
  const interval = 1000 / ratePerSecond;
  const start = now();
  const pending = [];
  for (let i = 0; i < count; i++) {
    const due = start + i * interval;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
    pending.push(send(i));
  }
  await Promise.all(pending);
}

export function runMain(main) {
  main().then(
    () => process.exit(0),
    (error) => {
      console.error(error?.stack ?? String(error));
      process.exit(1);
    },
  );
}
