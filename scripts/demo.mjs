// npm start: the simulator with a seeded demo library, a local SFTP server standing in for an agency, and
// Node-RED (from devDependencies, user directory .demo/node-red) with this package loaded and every example
// flow deployed against them (the stand-in CMS example plays WordPress and the notification inbox).
// Ctrl-C stops everything; a second start reuses .demo/ (flows, positions, ledgers, delivered files).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
// PHOTOSHELTER_DEMO_DIR puts the demo's state elsewhere (the end-to-end test of the demo uses it)
const demoDir = process.env.PHOTOSHELTER_DEMO_DIR || join(root, '.demo');
const userDir = join(demoDir, 'node-red');
const outDir = join(demoDir, 'out');
const sftpRoot = join(demoDir, 'agency-sftp');
// everything Node-RED prints (its log) goes here
const logFile = join(demoDir, 'node-red.log');

function portFree(port) {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
async function pickPort(preferred) {
  if (await portFree(preferred)) return preferred;
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const { startSimulator } = require(join(root, 'dist', 'simulator', 'index.js'));
// the library's changes (approvals, uploads, the clock) are kept in .demo/ like everything else
const sim = await startSimulator({ port: await pickPort(8765), seed: 1, assets: 200, stateFile: join(demoDir, 'simulator-state.json') });
const creds = sim.credentials;
const { startSftpTarget } = require(join(root, 'dist', 'simulator', 'sftp.js'));
const sftp = await startSftpTarget({ root: sftpRoot, port: await pickPort(2222), user: 'agency', password: 'agency-password' });

mkdirSync(join(userDir, 'node_modules', '@shelterflow'), { recursive: true });
mkdirSync(outDir, { recursive: true });
const link = join(userDir, 'node_modules', '@shelterflow', 'node-red-photoshelter');
if (!existsSync(link)) symlinkSync(root, link, 'dir');
writeFileSync(join(userDir, 'package.json'), JSON.stringify({ name: 'photoshelter-demo', private: true, dependencies: { '@shelterflow/node-red-photoshelter': '*' } }, null, 2));
const uiPort = await pickPort(1880);
writeFileSync(
  join(userDir, 'settings.js'),
  `// Node-RED settings of the demo (written by npm start)\nmodule.exports = ${JSON.stringify(
    {
      uiHost: '127.0.0.1',
      uiPort,
      flowFile: 'flows.json',
      credentialSecret: 'photoshelter-demo',
      // the stand-in CMS receives whole originals through an http in node
      apiMaxLength: '200mb',
      contextStorage: { default: { module: 'localfilesystem' } },
      editorTheme: { projects: { enabled: false }, tours: false },
      // no question about update notifications when the editor first opens
      telemetry: { enabled: false },
    },
    null,
    2,
  )};\n`,
);
// the example flows are deployed on the first start only: afterwards the user's edits are kept
const firstStart = !existsSync(join(userDir, 'flows.json'));

// The keys the examples' HTTP endpoints ask for (examples 2, 4 and 7 write to PhotoShelter): made once,
// kept in .demo/ with the rest, and printed below (a key is a random 32-byte hex string, like openssl rand -hex 32)
const keysFile = join(demoDir, 'endpoint-keys.json');
const keys = existsSync(keysFile) ? JSON.parse(readFileSync(keysFile, 'utf8')) : {};
for (const name of ['METADATA_API_KEY', 'REVIEW_CALLBACK_KEY', 'AUDITED_UPDATE_KEY']) keys[name] ??= randomBytes(32).toString('hex');
writeFileSync(keysFile, JSON.stringify(keys, null, 2), { mode: 0o600 });

// the gallery whose approved images go to the agency (example 3's default)
const AGENCY_GALLERY = 'G0000sKBQrAAAAAB';
const env = {
  ...process.env,
  PHOTOSHELTER_BASE_URL: sim.baseUrl,
  PHOTOSHELTER_API_KEY: creds.apiKey,
  PHOTOSHELTER_EMAIL: creds.email,
  PHOTOSHELTER_PASSWORD: creds.password,
  PHOTOSHELTER_ORG_ID: creds.orgId,
  PHOTOSHELTER_OUT_DIR: outDir,
  WORDPRESS_MEDIA_URL: `http://127.0.0.1:${uiPort}/demo-cms/wp/v2/media`,
  WORDPRESS_USER: 'demo',
  WORDPRESS_APP_PASSWORD: 'demo-app-password',
  NOTIFY_URL: `http://127.0.0.1:${uiPort}/demo-cms/notifications`,
  REVIEW_TOOL_URL: `http://127.0.0.1:${uiPort}/demo-review/tasks`,
  REVIEW_CALLBACK_URL: `http://127.0.0.1:${uiPort}/photoshelter/review-decision`,
  // the lighter of the demo library's curated collections ("Product Shots", about 200 MB of originals)
  CAMPAIGN_COLLECTION: 'C0000VsonMAAAAAD',
  AGENCY_GALLERY,
  AGENCY_SFTP_HOST: sftp.host,
  AGENCY_SFTP_PORT: String(sftp.port),
  AGENCY_SFTP_USER: 'agency',
  AGENCY_SFTP_PASSWORD: 'agency-password',
  AGENCY_SFTP_HOST_KEY: sftp.hostKeyFingerprint,
  AGENCY_SFTP_DIR: 'photoshelter',
  ...keys,
};
const red = spawn(process.execPath, [require.resolve('node-red/red.js'), '--userDir', userDir, '--settings', join(userDir, 'settings.js')], {
  env,
  stdio: ['ignore', 'pipe', 'pipe'],
});
const log = createWriteStream(logFile, { flags: 'a' });
red.stderr.on('data', (chunk) => {
  log.write(chunk);
  process.stderr.write(chunk);
});
let started = false;
red.stdout.on('data', (chunk) => {
  log.write(chunk);
  const text = chunk.toString();
  if (process.env.DEMO_VERBOSE) process.stdout.write(text);
  if (!started && /Started flows/.test(text)) {
    started = true;
    void ready();
  }
});

/** Deploy every example, one tab each, as the editor would; their credentials are references to the environment, not values. */
async function deployDemo() {
  const examples = join(root, 'examples');
  const seen = new Set();
  const flow = readdirSync(examples)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((f) => JSON.parse(readFileSync(join(examples, f), 'utf8')))
    // a subflow two examples share (examples 1 and 5) is in both files, the same: deployed once
    .filter((n) => !seen.has(n.id) && seen.add(n.id))
    // example 9's leader and worker need an MQTT broker and PostgreSQL: their tabs are there to read, disabled
    .map((n) => (n.type === 'tab' && n.id.startsWith('job9') ? { ...n, disabled: true } : n));
  const res = await fetch(`http://127.0.0.1:${uiPort}/flows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
    body: JSON.stringify(flow),
  });
  if (!res.ok) throw new Error(`deploying the demo flow failed: ${res.status} ${await res.text()}`);
}

/** A pending image, preferably in `galleryId`, so that approving it is a real transition every flow sees. */
async function pendingImage(galleryId) {
  const pick = async (query) => {
    const { ids } = await (await fetch(`${sim.url}/__sim/media${query}`)).json();
    for (const id of ids.slice(0, 80)) {
      const truth = await (await fetch(`${sim.url}/__sim/media/${id}`)).json();
      if (truth.custom?.['Approval Status'] === 'Pending' && truth.type === 'image') return id;
    }
    return undefined;
  };
  return (await pick(`?galleryId=${galleryId}`)) ?? (await pick('')) ?? 'I0000…';
}

async function ready() {
  if (firstStart) await deployDemo();
  const some = await pendingImage(AGENCY_GALLERY);
  const red = `http://127.0.0.1:${uiPort}`;
  const json = "-H 'content-type: application/json'";
  console.log(`
PhotoShelter demo is running: every example flow is deployed, one tab each.

  Node-RED editor         ${red}/
  stand-in CMS            ${red}/demo-cms/   (plays WordPress for examples 1 and 5)
  stand-in review tool    ${red}/demo-review/#key=${keys.REVIEW_CALLBACK_KEY}   (example 4: a page with Approve and Reject)
  delivery overview       ${red}/photoshelter/overview   (example 7: deliveries, failures, expiring licences)
  agency SFTP server      127.0.0.1:${sftp.port}, user agency / agency-password, files in ${sftpRoot}
  simulated PhotoShelter  ${sim.baseUrl}
     API key ${creds.apiKey}, login ${creds.email} / ${creds.password}, organization ${creds.orgId}
  files land in           ${outDir}
  endpoint keys           METADATA_API_KEY=${keys.METADATA_API_KEY}   (example 2)
                          REVIEW_CALLBACK_KEY=${keys.REVIEW_CALLBACK_KEY}   (example 4)
                          AUDITED_UPDATE_KEY=${keys.AUDITED_UPDATE_KEY}   (example 7)
  Node-RED's log          ${logFile}

Try it:
  1. Approve an asset. Within 30 s (or press a trigger's button) its original lands in out/local-folder,
     in the stand-in CMS with title, caption and alt text, on the agency SFTP server with a JSON sidecar,
     and in the audit log out/audit/deliveries.csv:
       curl -s -X PATCH ${sim.url}/__sim/media/${some} ${json} \\
            -d '{"custom":{"Approval Status":"Approved"}}'
  2. A master system sends campaign metadata, with the endpoint's key; the answer says what changed:
       curl -s -X POST ${red}/photoshelter/metadata -H 'authorization: Bearer ${keys.METADATA_API_KEY}' ${json} \\
            -d '{"id":"${some}","campaign":"Spring 2027","department":"Marketing","expires":"2027-12-31"}'
  3. Upload an asset (it starts Pending): within 10 s a review task for it appears at ${red}/demo-review/;
     approve or reject it there, or decide the task just created from here (repeat both as often as you like):
       curl -s -X POST ${sim.url}/__sim/media ${json} -d '{"galleryId":"${AGENCY_GALLERY}","fileName":"new upload.jpg","custom":{"Approval Status":"Pending"}}'
       curl -s -X POST ${red}/demo-review/tasks/latest/decide -H 'authorization: Bearer ${keys.REVIEW_CALLBACK_KEY}' ${json} -d '{"decision":"approved","reviewer":"Dana"}'
  4. Let the licence of the asset of step 1 expire, and run the rights sweep: it is removed from the CMS
     and the SFTP server, and a notification appears on the CMS page:
       curl -s -X PATCH ${sim.url}/__sim/media/${some} ${json} -d '{"custom":{"License Expiration Date":"2020-01-01"}}'
       curl -s -X POST ${red}/inject/job5.schedule
  5. Migrate a collection to a folder tree (tab 8, "Start or resume"), export the metadata inventory
     (tab 7, "export now"), or sync the regional campaign libraries (tab 6): out/migration, out/audit,
     out/campaign-library.

Ctrl-C stops everything; the next npm start reuses .demo/ (flows, the simulated library, ledgers, files).`);
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping…');
  red.kill('SIGINT');
  await new Promise((resolve) => {
    if (red.exitCode !== null) return resolve();
    const timer = setTimeout(() => red.kill('SIGKILL'), 10_000);
    red.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  await Promise.all([sim.close(), sftp.close()]);
  await new Promise((resolve) => log.end(resolve));
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
red.on('exit', (code) => {
  if (!stopping) {
    console.error(`Node-RED exited (${code}); stopping the simulator.`);
    void Promise.all([sim.close(), sftp.close()]).then(() => process.exit(code ?? 1));
  }
});
