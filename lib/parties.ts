import { readFile } from 'node:fs/promises';
import { z } from 'zod';

/** compliance: approves dispute outcomes and disclosures (two distinct principals each time). */
export const partyRole = z.enum(['buyer', 'seller', 'sponsor', 'auditor', 'compliance', 'operator']);
export type PartyRole = z.infer<typeof partyRole>;

export const party = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  role: partyRole,
  /** base64url raw Ed25519 public key: every API request of this party is signed with its private key. */
  publicKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a base64url Ed25519 public key (43 characters)'),
  /** Where the notifier posts this party's deal events; optional. */
  webhookUrl: z.url().optional(),
  /** The party's Aztec account, where settlement on Aztec pays it (seller) or refunds it (buyer). */
  aztecAddress: z
    .string()
    .regex(/^0x[0-9a-f]{64}$/, 'an Aztec address: 0x and 64 lowercase hex digits')
    .optional(),
});
export type Party = z.infer<typeof party>;

export const partiesFile = z.strictObject({ parties: z.array(party) });

/** The operator's registry of parties and their request-signing keys. */
export class PartyRegistry {
  private readonly byId: Map<string, Party>;

  constructor(parties: Party[]) {
    this.byId = new Map(parties.map((p) => [p.id, p]));
  }

  static async load(path: string): Promise<PartyRegistry> {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw new Error(`cannot read the parties file ${path}: ${(error as Error).message}`);
    }
    const parsed = partiesFile.safeParse(json);
    if (!parsed.success) throw new Error(`the parties file ${path} is not valid: ${parsed.error.message}`);
    return new PartyRegistry(parsed.data.parties);
  }

  get(id: string): Party | undefined {
    return this.byId.get(id);
  }

  all(): Party[] {
    return [...this.byId.values()];
  }
}
