import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import { promisify } from 'node:util';
import { Client } from '@temporalio/client';
import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AesGcmPayloadCodec } from '../../lib/codec/aes-gcm-codec';
import { historyDataConverter } from '../../lib/codec/history-codec';
import { CodecKeyring, newKeyFileJson } from '../../lib/codec/keyring';
import { DEALS_TASK_QUEUE } from '../../lib/temporal';
import { findOrInstallTemporalCli } from '../../stack/temporal-cli';
import type { DealStatus } from '../../workflows/deal/state';
import { freshHistoryCodec, decodeHistoryJson, searchableText } from '../support/history-codec';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buyDeal, startTestDeployment, type TestDeployment } from './harness';
import { party, replay, waitFor } from './lifecycle-harness';
import { confirmDeal } from '../../lib/signed-actions';

const run = promisify(execFile);
const PRICE = '4713';
const PARAMETERS = { min_age: 37, max_age: 59, sex: 'M' };
const CODEC_TOKEN = 'codec-token-for-the-web-ui-0123456789abcdef';
const UI_ORIGIN = 'http://127.0.0.1:8233';

describe('workflow histories hold ciphertext; the codec, and only it, restores them', () => {
  let test: TestDeployment;
  let dealId: string;
  let cli: string;

  beforeAll(async () => {
    test = await startTestDeployment(
      'codec',
      (seller) => seller.publishDemoTemplate({ price: PRICE }).then(() => undefined),
      {
        parties: [
          { id: 'operator', role: 'operator' },
          { id: 'auditor', role: 'auditor' },
        ],
        env: { TUSK_CODEC_TOKEN: CODEC_TOKEN, TUSK_CODEC_UI_ORIGIN: UI_ORIGIN },
      },
    );
    const deal = await buyDeal(test.deployment, 'cohort-cost-by-zip3', PARAMETERS);
    dealId = deal.dealId;
    expect((await deal.delivered()).stage).toBe('delivered');
    await confirmDeal(test.deployment.buyer.client, dealId);
    await waitFor(
      () => test.deployment.buyer.client.get<DealStatus>(`/deals/${dealId}`),
      (s) => s.stage === 'settled',
    );
    cli = await findOrInstallTemporalCli(() => undefined);
  });
  afterAll(() => test?.close());

  /** What each party, the price and the parameters look like wherever they are in clear. */
  const inClear = () => [
    test.deployment.buyer.id,
    test.seller.id,
    `"price":"${PRICE}"`,
    PRICE,
    'min_age',
    'max_age',
    '"parameters"',
    '"buyerId"',
    '"sellerId"',
  ];
  /**
   * The one place a party id stays readable: the seller's perimeter task queue, which Temporal must
   * read to route work to that seller (README, "Encrypted histories").
   */
  const withoutPerimeterQueue = (text: string) =>
    text.replaceAll(`"name":"perimeter.${test.seller.id}"`, '"name":"perimeter.<seller>"');

  const showJson = async (...flags: string[]) => {
    const { stdout } = await run(
      cli,
      [
        'workflow',
        'show',
        '--workflow-id',
        dealId,
        '--output',
        'json',
        '--address',
        inject('temporalAddress'),
        ...flags,
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    return JSON.parse(stdout) as unknown;
  };

  it('a client without the codec reads no party, price or parameter anywhere in the history', async () => {
    const raw = new Client({ connection: test.temporal.connection, namespace: 'default' });
    const history = await raw.workflow.getHandle(dealId).fetchHistory();
    const text = withoutPerimeterQueue(searchableText(history));
    expect(text).toContain(dealId);
    // Metadata values are base64 in JSON.
    expect(text).toContain(Buffer.from('binary/encrypted').toString('base64'));
    for (const value of inClear()) expect(text).not.toContain(value);

    const decoded = searchableText(await decodeHistoryJson(history, test.codec));
    for (const value of inClear()) expect(decoded).toContain(value);
  });

  it('`temporal workflow show -o json` shows ciphertext, and decodes through the codec endpoint', async () => {
    const shown = withoutPerimeterQueue(searchableText(await showJson()));
    expect(shown).toContain(dealId);
    for (const value of inClear()) expect(shown).not.toContain(value);

    const endpoint = `${test.deployment.apiUrl}/codec/${CODEC_TOKEN}`;
    const decoded = searchableText(await showJson('--codec-endpoint', endpoint));
    for (const value of inClear()) expect(decoded).toContain(value);
  });

  it('the codec endpoint decodes for the operator and the token holder only', async () => {
    const raw = new Client({ connection: test.temporal.connection, namespace: 'default' });
    const history = JSON.parse(JSON.stringify(await raw.workflow.getHandle(dealId).fetchHistory())) as {
      events: { workflowExecutionStartedEventAttributes?: { input: { payloads: unknown[] } } }[];
    };
    const payloads = history.events[0]!.workflowExecutionStartedEventAttributes!.input.payloads;

    const byOperator = await party(test, 'operator').client.post<{ payloads: { data: string }[] }>(
      '/codec/decode',
      { payloads },
    );
    expect(Buffer.from(byOperator.payloads[0]!.data, 'base64').toString()).toContain(`"price":"${PRICE}"`);
    await expect(party(test, 'auditor').client.post('/codec/decode', { payloads })).rejects.toMatchObject({
      status: 403,
      code: 'forbidden',
    });
    await expect(test.deployment.buyer.client.post('/codec/decode', { payloads })).rejects.toMatchObject({
      status: 403,
    });

    const viaUi = (token: string) =>
      fetch(`${test.deployment.apiUrl}/codec/${token}/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-namespace': 'default', origin: UI_ORIGIN },
        body: JSON.stringify({ payloads }),
      });
    const wrong = await viaUi('not-the-token');
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toEqual({ code: 'forbidden', reason: 'the codec token is not valid' });
    const right = await viaUi(CODEC_TOKEN);
    expect(right.status).toBe(200);
    expect(right.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);

    const preflight = await fetch(`${test.deployment.apiUrl}/codec/${CODEC_TOKEN}/decode`, {
      method: 'OPTIONS',
      headers: { origin: UI_ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-namespace');

    // The token is a path segment: the API's request log must not keep it.
    const apiLog = await waitFor(
      () => readFile(join(test.home, 'logs', 'api.log'), 'utf8'),
      (text) => text.includes('/codec/<token>/decode'),
    );
    expect(apiLog).not.toContain(CODEC_TOKEN);

    const [foreign] = await freshHistoryCodec('retired-key').encode([
      { metadata: {}, data: Buffer.from('{}') },
    ]);
    const unknown = {
      metadata: Object.fromEntries(
        Object.entries(foreign!.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
      data: Buffer.from(foreign!.data!).toString('base64'),
    };
    await expect(
      party(test, 'operator').client.post('/codec/decode', { payloads: [unknown] }),
    ).rejects.toMatchObject({ status: 422, code: 'unknown_history_key' });
    const [first] = payloads as { metadata: Record<string, string>; data: string }[];
    const flipped = Buffer.from(first!.data, 'base64');
    flipped[20] = flipped[20]! ^ 1;
    await expect(
      party(test, 'operator').client.post('/codec/decode', {
        payloads: [{ ...first, data: flipped.toString('base64') }],
      }),
    ).rejects.toMatchObject({ status: 422, code: 'payload_tampered' });
    await expect(
      party(test, 'operator').client.post('/codec/decode', { payloads: [{ data: 'not base64!' }] }),
    ).rejects.toMatchObject({ status: 400, code: 'invalid_request' });
  });

  it('replays through the codec; after a new key is added, the history written under the old one still replays', async () => {
    await replay(test, dealId);
    const deployed = JSON.parse(await readFile(test.deployment.codecKeyFile, 'utf8')) as Record<
      string,
      string
    >;
    const rotatedJson = JSON.stringify({ ...deployed, ...JSON.parse(newKeyFileJson('local-2')) });
    const rotated = new AesGcmPayloadCodec(CodecKeyring.fromJson(rotatedJson, 'rotated'));
    expect(rotated.keyring.encryptingKeyId).toBe('local-2');
    await replay(test, dealId, undefined, rotated);
  });

  it('a history under a key the codec does not hold fails, naming the key', async () => {
    const stranger = new Client({
      connection: test.temporal.connection,
      namespace: 'default',
      dataConverter: historyDataConverter(freshHistoryCodec('other')),
    });
    await expect(stranger.workflow.getHandle(dealId).result()).rejects.toThrow(
      'payload is encrypted under history key "local-1", which this process does not hold (it holds: other)',
    );
    await expect(replay(test, dealId, undefined, freshHistoryCodec('other'))).rejects.toThrow();
  });

  /**
   * The operator, without the history keys, starts a workflow straight on Temporal with `payloads`
   * as its input, and reads what the deals worker made of it.
   */
  const startRawDeal = async (payloads: temporal.api.common.v1.IPayload[]) => {
    const workflowId = `deal-${randomUUID()}`;
    await test.temporal.connection.workflowService.startWorkflowExecution({
      namespace: 'default',
      workflowId,
      workflowType: { name: 'cohortQueryDeal' },
      taskQueue: { name: DEALS_TASK_QUEUE },
      input: { payloads },
      requestId: randomUUID(),
    });
    const raw = new Client({ connection: test.temporal.connection, namespace: 'default' });
    const failedTask = await waitFor(
      async () => (await raw.workflow.getHandle(workflowId).fetchHistory()).events ?? [],
      (events) => events.some((e) => e.workflowTaskFailedEventAttributes),
    );
    await raw.workflow.getHandle(workflowId).terminate('test: refused input');
    // The failure's message is itself encrypted (encodeCommonAttributes): read it with the keys.
    const failure = failedTask.find((e) => e.workflowTaskFailedEventAttributes)!
      .workflowTaskFailedEventAttributes!.failure!;
    const [attributes] = await test.codec.decode([failure.encodedAttributes!]);
    return {
      failure: (JSON.parse(Buffer.from(attributes!.data!).toString()) as { message: string }).message,
      scheduled: failedTask.filter((e) => e.activityTaskScheduledEventAttributes).length,
    };
  };

  it("the deals worker refuses a genuine deal's encrypted input copied into another workflow", async () => {
    const raw = new Client({ connection: test.temporal.connection, namespace: 'default' });
    const history = await raw.workflow.getHandle(dealId).fetchHistory();
    const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads!;
    const copied = await startRawDeal(input);
    expect(copied.failure).toContain(`a payload sealed for workflow "${dealId}", workflow was presented to`);
    expect(copied.scheduled).toBe(0);
  });

  it('the deals worker refuses an input in clear: whoever wrote it held no history key', async () => {
    const plain = await startRawDeal([
      {
        metadata: { encoding: Buffer.from('json/plain') },
        data: Buffer.from(JSON.stringify({ dealId: 'x' })),
      },
    ]);
    expect(plain.failure).toContain('is not encrypted: nobody holding the history keys wrote it');
    expect(plain.scheduled).toBe(0);
  });

  it("Temporal's visibility names no party: workflow ids and search attributes, budget reads included", async () => {
    await test.deployment.buyer.client.get(`/budgets/${test.seller.id}/patients`);
    const raw = new Client({ connection: test.temporal.connection, namespace: 'default' });
    const listed: unknown[] = [];
    for await (const execution of raw.workflow.list()) listed.push(execution);
    const visible = JSON.stringify(listed);
    expect(visible).toContain('"budget:');
    for (const id of [test.deployment.buyer.id, test.seller.id]) expect(visible).not.toContain(id);
  });
});
