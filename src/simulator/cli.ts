#!/usr/bin/env node
// photoshelter-sim: run the PhotoShelter v4 API simulator from the command line.
import { DEFAULTS, startSimulator, type SimulatorOptions } from './index';

const HELP = `Usage: photoshelter-sim [options]

  --port <n>         port (default 8765; if taken, a free port is chosen)
  --host <addr>      address to bind (default 127.0.0.1)
  --seed <n>         library seed (default ${DEFAULTS.seed})
  --assets <n>       number of media (default ${DEFAULTS.assets})
  --api-key <key>    API key, 11 chars [a-zA-Z0-9._] (default ${DEFAULTS.apiKey})
  --email <email>    login email (default ${DEFAULTS.email})
  --password <pw>    login password (default ${DEFAULTS.password})
  --org-id <id>      organization id (default ${DEFAULTS.orgId})
  --rate-limit <n>   requests per second, 0 = unlimited (default 0)
  --token-ttl <s>    OAuth access token lifetime in seconds (default ${DEFAULTS.oauthTokenTtlSeconds})
  --state <file>     keep the library's changes in this file across restarts
  --strict           refuse (400) parameters and values the real API is not known to accept
  --cors-origins <l> origins browsers may call from, comma-separated, or * (default *)
  --max-depth <n>    results reachable by paging (page x per_page), 0 = no limit (default 0)
  --request-log <n>  requests the log at /__sim/requests lists, the latest ones (default 10000)
  --demo             start with the defaults
  --help             this text
`;

const DEFAULT_PORT = 8765;

export function parseArgs(argv: readonly string[]): SimulatorOptions & { help?: boolean } {
  const out: SimulatorOptions & { help?: boolean } = {};
  const num = (name: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || v === '' || !Number.isFinite(n)) throw new Error(`${name} needs a number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--port': out.port = num(flag, value()); break;
      case '--host': out.host = value(); break;
      case '--seed': out.seed = num(flag, value()); break;
      case '--assets': out.assets = num(flag, value()); break;
      case '--api-key': out.apiKey = value(); break;
      case '--email': out.email = value(); break;
      case '--password': out.password = value(); break;
      case '--org-id': out.orgId = value(); break;
      case '--rate-limit': out.rateLimit = num(flag, value()); break;
      case '--token-ttl': out.oauthTokenTtlSeconds = num(flag, value()); break;
      case '--state': out.stateFile = value(); break;
      case '--strict': out.strict = true; break;
      case '--cors-origins': {
        const v = value().trim();
        out.corsOrigins = v === '*' ? '*' : v.split(',').map((o) => o.trim()).filter(Boolean);
        break;
      }
      case '--max-depth': out.maxDepth = num(flag, value()); break;
      case '--request-log': out.requestLogSize = num(flag, value()); break;
      case '--demo': break;
      case '--help': case '-h': out.help = true; break;
      default: throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return out;
}

async function main(): Promise<void> {
  let opts: ReturnType<typeof parseArgs>;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`photoshelter-sim: ${(err as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (opts.help) {
    process.stdout.write(HELP);
    return;
  }
  const explicitPort = opts.port !== undefined;
  let sim;
  try {
    sim = await startSimulator({ ...opts, port: opts.port ?? DEFAULT_PORT });
  } catch (err) {
    if (explicitPort || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    sim = await startSimulator({ ...opts, port: 0 });
  }
  const c = sim.credentials;
  process.stdout.write(
    `PhotoShelter simulator listening\n` +
    `  base URL        ${sim.baseUrl}\n` +
    `  API key         ${c.apiKey}\n` +
    `  email           ${c.email}\n` +
    `  password        ${c.password}\n` +
    `  organization    ${c.orgId}\n` +
    `  OAuth client    ${c.oauthClientId} / ${c.oauthClientSecret}\n` +
    `  control API     ${sim.url}/__sim/\n` +
    `  mode            ${opts.strict ? 'strict (parameters without evidence answer 400)' : 'lenient (unknown parameters are ignored)'}\n` +
    `Press Ctrl-C to stop.\n`,
  );
  let closing = false;
  const stop = (): void => {
    if (closing) return;
    closing = true;
    sim.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`photoshelter-sim: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
