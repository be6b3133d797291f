import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { aztecToolchain, AztecToolchainMissingError } from './toolchain';

/*
 * The part of the Aztec SDK (4.1.2) that Tusk uses, typed by hand.
 *
 * The @aztec packages need Node 22 and weigh 1.2 GB, so they live in the toolchain cache
 * (`npm run aztec:setup`), not in the repo's node_modules: the project's typecheck cannot see their
 * declarations. These interfaces name only what Tusk calls; `npm run typecheck:aztec` checks them
 * against the real declarations in the cache, and the settlement suite runs them on a real network.
 */

/** A BN254 field element (Fr) or anything shaped like one: addresses, secrets, token ids. */
export interface Field {
  toString(): string;
  toBigInt(): bigint;
  toBuffer(): Buffer;
  equals(other: Field): boolean;
  isZero(): boolean;
  toField(): Field;
}
export type AztecAddress = Field;
/** What contract methods accept for a field: a field, its bytes or its value. */
export type FieldLike = Field | Buffer | bigint | number | { toField(): Field };
/** What contract methods accept for an address: the address, or a contract or account that has one. */
export type AztecAddressLike = AztecAddress | { address: FieldLike };

export interface FieldClass {
  new (value: bigint | number | Buffer): Field;
  fromBufferReduce(bytes: Buffer): Field;
  fromString(text: string): Field;
}

export interface AztecAddressClass {
  fromString(text: string): AztecAddress;
}

export interface TxHash {
  toString(): string;
}

/** A proven transaction, ready to send; its hash is final before it is sent. */
export interface Tx {
  getTxHash(): TxHash;
  toBuffer(): Buffer;
}

export type TxStatus = 'dropped' | 'pending' | 'proposed' | 'checkpointed' | 'proven' | 'finalized';

export interface TxReceipt {
  txHash: TxHash;
  status: TxStatus;
  /** Set once the tx is in a block: `success` or which phase reverted. */
  executionResult?: string;
  error?: string;
  blockNumber?: number;
}

export interface ContractInstance {
  address: AztecAddress;
}

export interface AztecNode {
  getBlockNumber(): Promise<number>;
  getNodeInfo(): Promise<{ nodeVersion: string; l1ChainId: number; rollupVersion: number }>;
  getTxReceipt(txHash: TxHash): Promise<TxReceipt>;
  sendTx(tx: Tx): Promise<void>;
  getContract(address: AztecAddress): Promise<ContractInstance | undefined>;
  /** A public storage slot's value: readable by anyone with the node's URL, no wallet needed. */
  getPublicStorageAt(block: 'latest', contract: AztecAddress, slot: Field): Promise<Field>;
}

export interface SendOptions {
  from: AztecAddress;
  /** Further addresses whose notes the call may read (an escrow the wallet holds keys for). */
  additionalScopes?: AztecAddress[];
}

/** A contract call, a batch of calls or a deployment, not yet proven. */
export interface Interaction {
  request(options?: object): Promise<ExecutionPayload>;
  send(options: SendOptions): Promise<{ receipt: TxReceipt }>;
}

export interface CallInteraction extends Interaction {
  simulate(options?: SendOptions): Promise<{ result: unknown }>;
}

/** Opaque: what a wallet turns into a transaction request. */
export interface ExecutionPayload {
  feePayer?: AztecAddress;
}

export interface DeployOptions extends SendOptions {
  contractAddressSalt?: Field;
  /** Deployer-independent address: it depends only on the artifact, arguments, keys and salt. */
  universalDeploy?: boolean;
  skipClassPublication?: boolean;
  skipInstancePublication?: boolean;
}

export interface DeployMethod<C> extends Interaction {
  getInstance(options?: { contractAddressSalt?: Field }): Promise<ContractInstance>;
  convertDeployOptionsToRequestOptions(options: DeployOptions): object;
  send(options: DeployOptions): Promise<{ contract: C; receipt: TxReceipt }>;
}

export type ContractArtifact = object;
export type PublicKeys = object;

export interface Wallet {
  registerContract(
    instance: ContractInstance,
    artifact?: ContractArtifact,
    secretKey?: Field,
  ): Promise<ContractInstance>;
  /** Notes are found by their sender: a wallet sees a note only from senders it registered. */
  registerSender(address: AztecAddress, alias?: string): Promise<AztecAddress>;
  getContractMetadata(address: AztecAddress): Promise<{ isContractInitialized: boolean }>;
}

/** A wallet with its own PXE in this process. */
export interface EmbeddedWallet extends Wallet {
  createSchnorrAccount(secret: Field, salt: Field, signingKey?: Field): Promise<{ address: AztecAddress }>;
  stop(): Promise<void>;
}

export interface TestAccountData {
  secret: Field;
  salt: Field;
  signingKey: Field;
  address: AztecAddress;
}

export interface TokenContract {
  address: AztecAddress;
  methods: {
    balance_of_private(owner: AztecAddressLike): CallInteraction;
    transfer(to: AztecAddressLike, amount: bigint): CallInteraction;
    mint_to_private(to: AztecAddressLike, amount: bigint): CallInteraction;
  };
}

export interface EscrowContract {
  address: AztecAddress;
  methods: {
    withdraw(token: AztecAddressLike, amount: bigint, recipient: AztecAddressLike): CallInteraction;
  };
}

export interface NftContract {
  address: AztecAddress;
  methods: {
    mint(to: AztecAddressLike, tokenId: FieldLike): CallInteraction;
    transfer_to_private(to: AztecAddressLike, tokenId: FieldLike): CallInteraction;
    get_private_nfts(owner: AztecAddressLike, page: number): CallInteraction;
  };
}

interface ContractClass<C> {
  readonly artifact: ContractArtifact;
  at(address: AztecAddress, wallet: Wallet): C;
}

export interface AztecSdk {
  createAztecNodeClient(url: string): AztecNode;
  waitForNode(node: AztecNode): Promise<void>;
  Fr: FieldClass;
  AztecAddress: AztecAddressClass;
  deriveKeys(secretKey: Field): Promise<{ publicKeys: PublicKeys }>;
  BatchCall: { new (wallet: Wallet, calls: (Interaction | ExecutionPayload)[]): Interaction };
  Tx: { fromBuffer(bytes: Buffer): Tx };
  TxHash: { fromString(text: string): TxHash };
  EmbeddedWallet: {
    create(node: AztecNode | string, options: { ephemeral: boolean }): Promise<EmbeddedWallet>;
  };
  getInitialTestAccountsData(): Promise<TestAccountData[]>;
  TokenContract: ContractClass<TokenContract> & {
    deploy(
      wallet: Wallet,
      admin: AztecAddressLike,
      name: string,
      symbol: string,
      decimals: number,
    ): DeployMethod<TokenContract>;
  };
  EscrowContract: ContractClass<EscrowContract> & {
    deployWithPublicKeys(
      keys: PublicKeys,
      wallet: Wallet,
      owner: AztecAddressLike,
    ): DeployMethod<EscrowContract>;
  };
  NFTContract: ContractClass<NftContract> & {
    deploy(wallet: Wallet, admin: AztecAddressLike, name: string, symbol: string): DeployMethod<NftContract>;
    /** Where its public state lives: `nft_exists` and `public_owners` are maps keyed by token id. */
    readonly storage: Record<'nft_exists' | 'public_owners', { slot: Field }>;
  };
  /** The storage slot of a map's entry (poseidon2 of the map's slot and the key). */
  deriveStorageSlotInMap(mapSlot: bigint, key: { toField(): Field }): Promise<Field>;
}

/** The modules that make up AztecSdk, by package subpath. */
export const SDK_MODULES = [
  '@aztec/aztec.js/node',
  '@aztec/aztec.js/fields',
  '@aztec/aztec.js/addresses',
  '@aztec/aztec.js/keys',
  '@aztec/aztec.js/contracts',
  '@aztec/aztec.js/tx',
  '@aztec/wallets/embedded',
  '@aztec/accounts/testing',
  '@aztec/noir-contracts.js/Token',
  '@aztec/noir-contracts.js/Escrow',
  '@aztec/noir-contracts.js/NFT',
  '@aztec/stdlib/hash',
] as const;

let loaded: Promise<AztecSdk> | undefined;

/**
 * Imports the pinned SDK from the toolchain cache. Needs the toolchain's Node 22: on an older Node it
 * says so instead of failing deep inside an @aztec module.
 */
export function loadAztecSdk(): Promise<AztecSdk> {
  loaded ??= (async () => {
    const toolchain = aztecToolchain();
    if (!toolchain.installed) throw new AztecToolchainMissingError(toolchain.home);
    const major = Number(process.versions.node.split('.')[0]);
    if (major < 22) {
      throw new Error(
        `the Aztec SDK needs Node 22; this is Node ${process.versions.node}. Run this under ${toolchain.node}`,
      );
    }
    // Resolve from the cache's package.json, so its node_modules are searched, not the repo's.
    const requireFromCache = createRequire(toolchain.packages);
    const modules = await Promise.all(
      SDK_MODULES.map(
        (name) => import(pathToFileURL(requireFromCache.resolve(name)).href) as Promise<object>,
      ),
    );
    return Object.assign({}, ...modules) as AztecSdk;
  })();
  return loaded;
}
