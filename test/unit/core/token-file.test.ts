import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RefreshTokenFile } from '../../../src/core/token-file';

describe('core/token-file: the latest OAuth refresh token, kept across restarts', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ps-token-file-'));
    path = join(dir, 'photoshelter', 'tokens', 'acc.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('without a file, the configured token is the one to use', () => {
    assert.equal(new RefreshTokenFile(path).current('configured-1'), 'configured-1');
    assert.ok(!existsSync(path));
  });

  it('keeps the latest token for the configured one, readable by its owner only, and a new process reads it', async () => {
    await new RefreshTokenFile(path).save('configured-1', 'rotated-2');
    await new RefreshTokenFile(path).save('configured-1', 'rotated-3');
    assert.equal(new RefreshTokenFile(path).current('configured-1'), 'rotated-3');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'photoshelter', 'tokens')).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(join(dir, 'photoshelter', 'tokens')), ['acc.json'], 'no temporary file left');
    const text = readFileSync(path, 'utf8');
    assert.ok(!text.includes('configured-1'), 'the configured token is named by its hash only');
  });

  it('another configured token (the user entered a new one) wins, and the file goes', async () => {
    await new RefreshTokenFile(path).save('configured-1', 'rotated-2');
    assert.equal(new RefreshTokenFile(path).current('entered-later'), 'entered-later');
    assert.ok(!existsSync(path));
  });

  it('an unreadable file counts as none and goes', () => {
    mkdirSync(join(dir, 'photoshelter', 'tokens'), { recursive: true });
    for (const bad of ['{"v":1', '{"v":2,"refreshToken":"x"}', '[]', '{"v":1,"refreshToken":""}']) {
      writeFileSync(path, bad);
      assert.equal(new RefreshTokenFile(path).current('configured-1'), 'configured-1', bad);
      assert.ok(!existsSync(path));
    }
  });

  it('tightens a folder that was more open', async () => {
    mkdirSync(join(dir, 'photoshelter', 'tokens'), { recursive: true, mode: 0o755 });
    await new RefreshTokenFile(path).save('configured-1', 'rotated-2');
    assert.equal(statSync(join(dir, 'photoshelter', 'tokens')).mode & 0o777, 0o700);
  });
});
