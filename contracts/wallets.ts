import type {
  AztecAddress,
  AztecNode,
  AztecSdk,
  EmbeddedWallet,
  ExecutionPayload,
  Interaction,
  SendOptions,
  Tx,
} from './sdk';

/** A wallet (its own PXE, in memory) holding one account's keys. */
export interface AccountWallet {
  wallet: EmbeddedWallet;
  address: AztecAddress;
}

/**
 * Opens an in-memory wallet for one of the local network's funded test accounts. In memory, because the
 * local network forgets its state when it stops while a wallet on disk would remember stale notes.
 * Index 0 is the operator, 1 the demo buyer, 2 the demo seller.
 */
export async function openTestAccountWallet(
  sdk: AztecSdk,
  node: AztecNode,
  index: number,
): Promise<AccountWallet> {
  const accounts = await sdk.getInitialTestAccountsData();
  const account = accounts[index];
  if (!account)
    throw new Error(`the local network has ${accounts.length} test accounts; no account ${index}`);
  return retryProverStart(async () => {
    const wallet = await sdk.EmbeddedWallet.create(node, { ephemeral: true });
    try {
      const { address } = await wallet.createSchnorrAccount(account.secret, account.salt, account.signingKey);
      return { wallet, address };
    } catch (error) {
      await wallet.stop().catch(() => undefined);
      throw error;
    }
  });
}

/**
 * The prover (`bb`) creates its socket file before it listens, and bb.js connects as soon as the file
 * appears: on a busy machine that connect is refused and the wallet fails to open. Only that race is
 * retried, a few times; anything else fails at once.
 */
async function retryProverStart<T>(open: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await open();
    } catch (error) {
      const proverRace = /bb socket|bb to create socket/.test((error as Error).message ?? '');
      if (!proverRace || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    }
  }
}

export async function testAccountAddresses(sdk: AztecSdk): Promise<string[]> {
  return (await sdk.getInitialTestAccountsData()).map((account) => account.address.toString());
}

/** BaseWallet's protected steps: `send()` proves and broadcasts in one call, with no place in between. */
interface ProvingInternals {
  completeFeeOptions(from: AztecAddress, feePayer: AztecAddress | undefined): Promise<object>;
  createTxExecutionRequestFromPayloadAndFee(
    payload: ExecutionPayload,
    from: AztecAddress,
    fee: object,
  ): Promise<object>;
  scopesFrom(from: AztecAddress, additionalScopes?: AztecAddress[]): AztecAddress[];
  pxe: { proveTx(request: object, scopes: AztecAddress[]): Promise<{ toTx(): Promise<Tx> }> };
}

/**
 * Proves an interaction without sending it, the way the wallet's own send() does, so the caller can
 * persist the transaction (and know its hash) before it is broadcast.
 */
export async function proveWithoutSending(
  wallet: EmbeddedWallet,
  interaction: Interaction,
  options: SendOptions & { request?: object },
): Promise<Tx> {
  const internals = wallet as unknown as ProvingInternals;
  const payload = await interaction.request(options.request);
  const fee = await internals.completeFeeOptions(options.from, payload.feePayer);
  const request = await internals.createTxExecutionRequestFromPayloadAndFee(payload, options.from, fee);
  const proven = await internals.pxe.proveTx(
    request,
    internals.scopesFrom(options.from, options.additionalScopes),
  );
  return proven.toTx();
}
