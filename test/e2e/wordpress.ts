/**
 * A real WordPress on loopback for the end-to-end tests, from Debian's packages `wordpress` and
 * `mariadb-server` (which bring `php8.2-cli` and the MariaDB client along):
 *
 * - MariaDB with its own data folder, socket, pid file and port in a temporary folder (never the system
 *   instance), a database and a user for WordPress;
 * - PHP's built-in server on a free loopback port serving /usr/share/wordpress, through a small router
 *   script that names this run's configuration file and serves the uploads folder;
 * - Debian's WordPress reads `/etc/wordpress/config-<name>.php`; each run writes its own file under a
 *   unique name (selected per request by the router through `WORDPRESS_CONFIG`), so a configuration for
 *   127.0.0.1 that may already exist on the machine is left alone and two runs do not disturb each other;
 * - the site is installed through `wp-admin/install.php?step=2`, then a PHP command line script creates
 *   an application password for REST calls and points the uploads to the temporary folder.
 *
 * `stop()` ends both servers and removes the temporary folder and the configuration file. Every step is
 * time-bound, and a failed start cleans up what it had started before it throws.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../flows/runtime';

export const WORDPRESS_ROOT = '/usr/share/wordpress';
const CONFIG_DIR = '/etc/wordpress';
const UPLOADS_URL_PATH = '/e2e-uploads';

export interface WordPress {
  /** The site: `http://127.0.0.1:<port>`. */
  url: string;
  /** The REST media endpoint without pretty permalinks: `<url>/?rest_route=/wp/v2/media`. */
  mediaUrl: string;
  /** The administrator. */
  user: string;
  /** The administrator's login password (for the site; REST calls use the application password). */
  password: string;
  /** An application password of the administrator, for HTTP basic authentication. */
  appPassword: string;
  /** `Basic …` for `user:appPassword`. */
  authorization: string;
  /** Where this run keeps the database, the uploads and the logs. */
  dir: string;
  /** Where WordPress writes uploaded files. */
  uploadsDir: string;
  /** Milliseconds from the call of startWordPress() until the site answered REST calls. */
  setupMs: number;
  /** Setup milestones in milliseconds since the start (database, install, …). */
  timings: Record<string, number>;
  /** What PHP's server and MariaDB printed so far. */
  log(): string;
  stop(): Promise<void>;
}

interface Requirement {
  what: string;
  paths: string[];
  pkg: string;
}

const REQUIREMENTS: Requirement[] = [
  { what: 'WordPress', paths: [join(WORDPRESS_ROOT, 'wp-config.php')], pkg: 'wordpress' },
  { what: 'the PHP command line (php)', paths: ['/usr/bin/php'], pkg: 'php-cli (comes with wordpress)' },
  { what: 'the MariaDB server (mariadbd)', paths: ['/usr/sbin/mariadbd', '/usr/sbin/mysqld'], pkg: 'mariadb-server' },
  { what: 'mariadb-install-db', paths: ['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db'], pkg: 'mariadb-server' },
  { what: 'the MariaDB client (mariadb)', paths: ['/usr/bin/mariadb', '/usr/bin/mysql'], pkg: 'mariadb-client (comes with mariadb-server)' },
];

const firstExisting = (paths: string[]): string | undefined => paths.find((p) => existsSync(p));

/** Why a WordPress cannot be started here (naming the Debian package to install), or undefined when it can. */
export function wordPressUnavailable(): string | undefined {
  const missing = REQUIREMENTS.filter((r) => !firstExisting(r.paths));
  if (missing.length) {
    const pkgs = [...new Set(missing.map((m) => m.pkg.split(' ')[0]))];
    return (
      `${missing.map((m) => `${m.what} (${m.paths.join(' or ')})`).join(', ')} missing: ` +
      `install Debian's ${missing.map((m) => m.pkg).join(', ')} ` +
      `(apt-get install -y ${pkgs.join(' ')}), as .ci/run does`
    );
  }
  try {
    accessSync(CONFIG_DIR, constants.W_OK);
  } catch {
    return `${CONFIG_DIR} is not writable: Debian's WordPress reads its configuration there; run the end-to-end tests as root (as CI does)`;
  }
  return undefined;
}


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs a program to its end within `ms`; rejects with its output when it fails or takes too long. */
function run(file: string, args: string[], opts: { ms?: number; env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: opts.ms ?? 30_000, killSignal: 'SIGKILL', env: opts.env ?? process.env, cwd: opts.cwd, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const how = err.killed ? `did not finish within ${opts.ms ?? 30_000} ms` : `failed (${err.message.split('\n')[0]})`;
          reject(new Error(`${file} ${args.join(' ')} ${how}\n${stdout}${stderr}`.trim()));
        } else resolve(stdout);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Polls `probe` until it returns true; throws after `ms` with what was awaited and the last error. */
async function poll(what: string, ms: number, probe: () => Promise<boolean>, alive?: () => string | undefined): Promise<void> {
  const until = Date.now() + ms;
  let last = '';
  for (;;) {
    const dead = alive?.();
    if (dead) throw new Error(`${what}: ${dead}`);
    try {
      if (await probe()) return;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > until) throw new Error(`${what}: not ready within ${ms} ms${last ? ` (last error: ${last})` : ''}`);
    await sleep(100);
  }
}

/** Ends a child process (its whole process group, as it was started detached) and waits for it. */
async function end(child: ChildProcess | undefined, ms = 15_000): Promise<void> {
  if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      try {
        child.kill(sig);
      } catch {
        // already gone
      }
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), ms);
  await Promise.race([exited, sleep(ms + 5_000)]);
  clearTimeout(timer);
}

const php = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export async function startWordPress(): Promise<WordPress> {
  const started = Date.now();
  const timings: Record<string, number> = {};
  const mark = (name: string): void => {
    timings[name] = Date.now() - started;
  };
  const why = wordPressUnavailable();
  if (why) throw new Error(why);

  const mariadbd = firstExisting(REQUIREMENTS[2].paths)!;
  const installDb = firstExisting(REQUIREMENTS[3].paths)!;
  const client = firstExisting(REQUIREMENTS[4].paths)!;
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

  const dir = mkdtempSync(join(tmpdir(), 'ps-wordpress-'));
  const dataDir = join(dir, 'mysql');
  const socket = join(dir, 'mysqld.sock');
  const uploadsDir = join(dir, 'uploads');
  mkdirSync(uploadsDir);
  const tag = `e2e-${randomBytes(6).toString('hex')}`;
  const configFile = join(CONFIG_DIR, `config-${tag}.php`);
  let logs = '';
  const own: Record<string, string> = {};
  const collect = (name: string, child: ChildProcess): void => {
    const add = (d: Buffer): void => {
      logs += `[${name}] ${d.toString()}`;
      own[name] = (own[name] ?? '') + d.toString();
    };
    child.stdout?.on('data', add);
    child.stderr?.on('data', add);
  };
  let db: ChildProcess | undefined;
  let web: ChildProcess | undefined;
  let stopped = false;
  // the servers run in their own process groups: should the test process end without stop(), end them too
  const onExit = (): void => {
    for (const child of [web, db]) {
      if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    rmSync(configFile, { force: true });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    await Promise.all([end(web, 5_000), end(db, 15_000)]);
    rmSync(configFile, { force: true });
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // --- MariaDB ---
    await run(installDb, ['--no-defaults', `--datadir=${dataDir}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...(asRoot ? ['--user=root'] : [])], {
      ms: 60_000,
    });
    mark('database files');
    const dbPort = await freePort();
    db = spawn(
      mariadbd,
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        `--socket=${socket}`,
        `--port=${dbPort}`,
        '--bind-address=127.0.0.1',
        `--pid-file=${join(dir, 'mysqld.pid')}`,
        '--skip-name-resolve',
        '--innodb-buffer-pool-size=32M',
        ...(asRoot ? ['--user=root'] : []),
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    collect('mariadb', db);
    const dbAlive = (): string | undefined => (db!.exitCode !== null || db!.signalCode !== null ? `mariadbd exited (${db!.exitCode ?? db!.signalCode})` : undefined);
    const sql = (statement: string): Promise<string> => run(client, ['--no-defaults', `--socket=${socket}`, '-uroot', '--batch', '--skip-column-names', '-e', statement], { ms: 15_000 });
    await poll('MariaDB', 30_000, async () => (await sql('SELECT 1')).trim() === '1', dbAlive);
    mark('database server');
    const dbPassword = randomBytes(12).toString('hex');
    await sql(
      `CREATE DATABASE wordpress CHARACTER SET utf8mb4; CREATE USER 'wordpress'@'127.0.0.1' IDENTIFIED BY '${dbPassword}'; ` +
        `GRANT ALL PRIVILEGES ON wordpress.* TO 'wordpress'@'127.0.0.1'; FLUSH PRIVILEGES;`,
    );

    // --- configuration, router, PHP's server ---
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    writeFileSync(
      configFile,
      [
        '<?php',
        `// Written by the end-to-end tests of @shelterflow/node-red-photoshelter for ${url}; removed when they stop.`,
        `define('DB_NAME', 'wordpress');`,
        `define('DB_USER', 'wordpress');`,
        `define('DB_PASSWORD', ${php(dbPassword)});`,
        `define('DB_HOST', '127.0.0.1:${dbPort}');`,
        `define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');`,
        // application passwords over plain HTTP
        `define('WP_ENVIRONMENT_TYPE', 'local');`,
        // nothing reaches out to the internet or to itself in the background
        `define('WP_HTTP_BLOCK_EXTERNAL', true);`,
        `define('DISABLE_WP_CRON', true);`,
        `define('AUTOMATIC_UPDATER_DISABLED', true);`,
        `define('FS_METHOD', 'direct');`,
        '',
      ].join('\n'),
    );
    const router = join(dir, 'router.php');
    writeFileSync(
      router,
      [
        '<?php',
        '// Names the configuration of this run for Debian\'s wp-config.php and serves the uploads folder.',
        `$_SERVER['WORDPRESS_CONFIG'] = ${php(tag)};`,
        `$path = rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '/');`,
        `$prefix = ${php(`${UPLOADS_URL_PATH}/`)};`,
        `if (strncmp($path, $prefix, strlen($prefix)) === 0) {`,
        `  $base = ${php(uploadsDir)};`,
        `  $file = realpath($base . '/' . substr($path, strlen($prefix)));`,
        `  if ($file === false || strncmp($file, $base . '/', strlen($base) + 1) !== 0 || !is_file($file)) { http_response_code(404); return true; }`,
        `  header('Content-Type: ' . (mime_content_type($file) ?: 'application/octet-stream'));`,
        `  header('Content-Length: ' . filesize($file));`,
        `  readfile($file);`,
        `  return true;`,
        `}`,
        'return false;',
        '',
      ].join('\n'),
    );
    // originals are sent as raw request bodies: PHP's default post_max_size (8M) would drop larger ones
    const limits = ['-d', 'post_max_size=512M', '-d', 'upload_max_filesize=512M', '-d', 'memory_limit=512M', '-d', 'max_execution_time=300'];
    web = spawn('/usr/bin/php', [...limits, '-S', `127.0.0.1:${port}`, '-t', WORDPRESS_ROOT, router], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // several workers: WordPress may call itself, and a flow may send requests in parallel
      env: { ...process.env, PHP_CLI_SERVER_WORKERS: '4' },
    });
    collect('php', web);
    const webAlive = (): string | undefined => (web!.exitCode !== null || web!.signalCode !== null ? `php -S exited (${web!.exitCode ?? web!.signalCode})` : undefined);
    await poll('PHP\'s server', 20_000, async () => (await fetch(`${url}/readme.html`, { signal: AbortSignal.timeout(5_000) })).ok, webAlive);
    mark('web server');

    // --- install ---
    const user = 'admin';
    const password = randomBytes(12).toString('hex');
    const form = new URLSearchParams({
      weblog_title: 'Shelterflow e2e',
      user_name: user,
      admin_password: password,
      admin_password2: password,
      pw_weak: '1',
      admin_email: 'admin@example.com',
      blog_public: '0',
      language: '',
    });
    const install = await fetch(`${url}/wp-admin/install.php?step=2`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
      signal: AbortSignal.timeout(120_000),
    });
    const installPage = await install.text();
    if (!install.ok || !/wp-login\.php/.test(installPage)) {
      throw new Error(`WordPress installation failed: HTTP ${install.status}\n${installPage.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 1500)}`);
    }
    mark('installed');

    // --- application password, uploads folder ---
    const script = join(dir, 'setup.php');
    writeFileSync(
      script,
      [
        '<?php',
        `$_SERVER['HTTP_HOST'] = ${php(`127.0.0.1:${port}`)};`,
        `$_SERVER['WORDPRESS_CONFIG'] = ${php(tag)};`,
        `$_SERVER['REQUEST_URI'] = '/';`,
        `require ${php(join(WORDPRESS_ROOT, 'wp-load.php'))};`,
        `require_once ABSPATH . 'wp-admin/includes/user.php';`,
        `update_option('upload_path', ${php(uploadsDir)});`,
        `update_option('upload_url_path', ${php(url + UPLOADS_URL_PATH)});`,
        `update_option('uploads_use_yearmonth_folders', 0);`,
        `$u = get_user_by('login', ${php(user)});`,
        `if (!$u) { fwrite(STDERR, "no user\\n"); exit(2); }`,
        `$created = WP_Application_Passwords::create_new_application_password($u->ID, array('name' => 'e2e'));`,
        `if (is_wp_error($created)) { fwrite(STDERR, $created->get_error_message() . "\\n"); exit(3); }`,
        `echo json_encode(array('appPassword' => $created[0], 'userId' => $u->ID));`,
        '',
      ].join('\n'),
    );
    const out = await run('/usr/bin/php', [script], { ms: 60_000, cwd: dir });
    const json = out.slice(out.indexOf('{'));
    let appPassword: string;
    try {
      appPassword = (JSON.parse(json) as { appPassword: string }).appPassword;
    } catch {
      throw new Error(`the application password script printed no JSON:\n${out}`);
    }
    mark('application password');

    const authorization = `Basic ${Buffer.from(`${user}:${appPassword}`).toString('base64')}`;
    const mediaUrl = `${url}/?rest_route=/wp/v2/media`;
    // the REST API answers an authenticated call
    const me = await fetch(`${url}/?rest_route=/wp/v2/users/me&context=edit`, { headers: { authorization }, signal: AbortSignal.timeout(30_000) });
    const meText = await me.text();
    if (!me.ok) throw new Error(`REST call with the application password failed: HTTP ${me.status} ${meText.slice(0, 500)}`);
    mark('rest');

    return {
      url,
      mediaUrl,
      user,
      password,
      appPassword,
      authorization,
      dir,
      uploadsDir,
      setupMs: Date.now() - started,
      timings,
      log: () => logs,
      stop,
    };
  } catch (e) {
    const tails = Object.entries(own)
      .map(([name, text]) => `--- ${name} (last lines) ---\n${text.slice(-1500)}`)
      .join('\n');
    await stop().catch(() => undefined);
    const err = e as Error;
    err.message = `starting WordPress failed: ${err.message}${tails ? `\n${tails}` : ''}`;
    throw err;
  }
}
