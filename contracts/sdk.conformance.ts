/**
 * Checks that the real Aztec SDK fits Tusk's hand-written facade (contracts/sdk.ts): wherever Tusk
 * expects an AztecSdk, the real modules must do. Not part of `npm run typecheck` (the @aztec
 * declarations live in the toolchain cache, not in node_modules): `npm run typecheck:aztec` runs it.
 */
import type * as Addresses from '@aztec/aztec.js/addresses';
import type * as Contracts from '@aztec/aztec.js/contracts';
import type * as Fields from '@aztec/aztec.js/fields';
import type * as Keys from '@aztec/aztec.js/keys';
import type * as Node from '@aztec/aztec.js/node';
import type * as Tx from '@aztec/aztec.js/tx';
import type * as Testing from '@aztec/accounts/testing';
import type * as Escrow from '@aztec/noir-contracts.js/Escrow';
import type * as Nft from '@aztec/noir-contracts.js/NFT';
import type * as Token from '@aztec/noir-contracts.js/Token';
import type * as Embedded from '@aztec/wallets/embedded';
import type * as Hash from '@aztec/stdlib/hash';
import type { AztecSdk } from './sdk';

type RealSdk = typeof Node &
  typeof Fields &
  typeof Addresses &
  typeof Keys &
  typeof Contracts &
  typeof Tx &
  typeof Embedded &
  typeof Testing &
  typeof Token &
  typeof Escrow &
  typeof Nft &
  typeof Hash;

declare const real: RealSdk;
export const asTuskUsesIt: Omit<AztecSdk, 'BatchCall'> = real;

// Constructor parameters are compared strictly (contravariantly); as a method they are compared the
// way every other call in the facade is, so BatchCall is checked through one.
type AsMethod<C> = C extends new (...args: infer A) => infer R ? { construct(...args: A): R } : never;
declare const realBatchCall: AsMethod<RealSdk['BatchCall']>;
export const batchCall: AsMethod<AztecSdk['BatchCall']> = realBatchCall;
