import assert from 'node:assert/strict';
import {
  EMPTY_SHA256,
  UNSIGNED_PAYLOAD,
  amzDate,
  canonicalQuery,
  sha256Hex,
  signRequest,
  signingKey,
  uriEncode,
} from '../../../src/core/deliver/s3/sigv4';

// Published AWS examples. The SigV4 test suite uses AKIDEXAMPLE and the "+" secret; the S3 documentation
// ("Signature Calculations for the Authorization Header: Transferring Payload in a Single Chunk") uses
// AKIAIOSFODNN7EXAMPLE and the "/" secret, bucket examplebucket, 2013-05-24T00:00:00Z, us-east-1.
const SUITE = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SUITE_DATE = new Date('2015-08-30T12:36:00Z');
const S3DOC = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const S3DOC_DATE = new Date('2013-05-24T00:00:00Z');
const S3DOC_HOST = 'examplebucket.s3.amazonaws.com';

describe('SigV4 signing', () => {
  it('derives the documented signing key (IAM example, 20150830, us-east-1)', () => {
    const key = signingKey(SUITE.secretAccessKey, '20150830', 'us-east-1', 'iam');
    assert.equal(key.toString('hex'), 'c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9');
  });

  it('formats the x-amz-date timestamp', () => {
    assert.equal(amzDate(SUITE_DATE), '20150830T123600Z');
  });

  it('signs the test suite get-vanilla request', () => {
    const r = signRequest(
      { method: 'GET', path: '/', headers: { Host: 'example.amazonaws.com' }, payloadHash: EMPTY_SHA256 },
      SUITE,
      { region: 'us-east-1', service: 'service', date: SUITE_DATE },
    );
    assert.equal(
      r.headers.authorization,
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
        'SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
    assert.equal(r.headers['x-amz-content-sha256'], undefined, 'only S3 gets the payload hash header by default');
  });

  it('signs the test suite get-vanilla-query-order-key-case request (query sorted)', () => {
    const r = signRequest(
      {
        method: 'GET',
        path: '/',
        query: [['Param2', 'value2'], ['Param1', 'value1']],
        headers: { host: 'example.amazonaws.com' },
        payloadHash: EMPTY_SHA256,
      },
      SUITE,
      { region: 'us-east-1', service: 'service', date: SUITE_DATE },
    );
    assert.equal(r.signature, 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500');
  });

  it('signs the S3 GET Object example (Range header)', () => {
    const r = signRequest(
      { method: 'GET', path: '/test.txt', headers: { Host: S3DOC_HOST, Range: 'bytes=0-9' }, payloadHash: EMPTY_SHA256 },
      S3DOC,
      { region: 'us-east-1', service: 's3', date: S3DOC_DATE },
    );
    assert.equal(
      r.stringToSign,
      'AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n' +
        '7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972',
    );
    assert.equal(
      r.headers.authorization,
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
    assert.equal(r.headers['x-amz-content-sha256'], EMPTY_SHA256);
    assert.equal(r.headers['x-amz-date'], '20130524T000000Z');
  });

  it('signs the S3 PUT Object example (key needing encoding, real payload hash)', () => {
    const body = 'Welcome to Amazon S3.';
    const hash = sha256Hex(body);
    assert.equal(hash, '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072');
    const r = signRequest(
      {
        method: 'PUT',
        path: '/' + uriEncode('test$file.text', true),
        headers: {
          Host: S3DOC_HOST,
          Date: 'Fri, 24 May 2013 00:00:00 GMT',
          'x-amz-storage-class': 'REDUCED_REDUNDANCY',
        },
        payloadHash: hash,
      },
      S3DOC,
      { region: 'us-east-1', service: 's3', date: S3DOC_DATE },
    );
    assert.match(r.canonicalRequest, /^PUT\n\/test%24file\.text\n\n/);
    assert.equal(sha256Hex(r.canonicalRequest), '9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d');
    assert.equal(r.signedHeaders, 'date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class');
    assert.equal(r.signature, '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
  });

  it('signs the S3 GET Bucket Lifecycle example (valueless query parameter)', () => {
    const r = signRequest(
      { method: 'GET', path: '/', query: { lifecycle: '' }, headers: { host: S3DOC_HOST }, payloadHash: EMPTY_SHA256 },
      S3DOC,
      { region: 'us-east-1', service: 's3', date: S3DOC_DATE },
    );
    assert.equal(r.signature, 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543');
  });

  it('signs the S3 List Objects example (query parameters sorted)', () => {
    const r = signRequest(
      {
        method: 'GET',
        path: '/',
        query: { prefix: 'J', 'max-keys': '2' },
        headers: { host: S3DOC_HOST },
        payloadHash: EMPTY_SHA256,
      },
      S3DOC,
      { region: 'us-east-1', service: 's3', date: S3DOC_DATE },
    );
    assert.equal(r.signature, '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
  });

  it('encodes keys per the S3 rules: slashes kept, everything but unreserved escaped', () => {
    assert.equal(uriEncode("a b/c+d!e'f(g)h*i~j_k-l.m", true), 'a%20b/c%2Bd%21e%27f%28g%29h%2Ai~j_k-l.m');
    assert.equal(uriEncode('a/b'), 'a%2Fb');
    assert.equal(uriEncode('ключ/é'), '%D0%BA%D0%BB%D1%8E%D1%87%2F%C3%A9');
    assert.equal(uriEncode('100%=&?#', true), '100%25%3D%26%3F%23');
  });

  it('builds the canonical query with encoded names and values', () => {
    assert.equal(canonicalQuery({ uploadId: 'a/b+c=', partNumber: '3' }), 'partNumber=3&uploadId=a%2Fb%2Bc%3D');
    assert.equal(canonicalQuery({ uploads: '' }), 'uploads=');
    assert.equal(canonicalQuery(undefined), '');
  });

  it('signs the session token, trims header values and supports UNSIGNED-PAYLOAD', () => {
    const r = signRequest(
      {
        method: 'PUT',
        path: '/bucket/k',
        headers: { Host: 'h', 'X-Amz-Meta-Title': '  two   spaces  ', 'Content-Type': 'image/jpeg' },
        payloadHash: UNSIGNED_PAYLOAD,
      },
      { ...S3DOC, sessionToken: 'TOKEN' },
      { region: 'eu-west-1', service: 's3', date: S3DOC_DATE },
    );
    assert.equal(r.headers['x-amz-security-token'], 'TOKEN');
    assert.equal(r.headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
    assert.equal(
      r.signedHeaders,
      'content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-title;x-amz-security-token',
    );
    assert.match(r.canonicalRequest, /\nx-amz-meta-title:two spaces\n/);
    assert.ok(r.canonicalRequest.endsWith('\nUNSIGNED-PAYLOAD'));
    const without = signRequest(
      { method: 'PUT', path: '/bucket/k', headers: { Host: 'h' }, payloadHash: UNSIGNED_PAYLOAD },
      S3DOC,
      { region: 'eu-west-1', service: 's3', date: S3DOC_DATE },
    );
    assert.equal(without.headers['x-amz-security-token'], undefined);
    assert.ok(!r.headers.authorization.includes(S3DOC.secretAccessKey));
  });

  it('refuses to sign without a host header', () => {
    assert.throws(() =>
      signRequest({ method: 'GET', path: '/', headers: {}, payloadHash: EMPTY_SHA256 }, S3DOC, {
        region: 'us-east-1',
        service: 's3',
      }),
    );
  });
});
