import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from './atomic-file';

/** compliance: approves dispute outcomes and disclosures (two distinct principals each time). */
export const partyRole = z.enum(['buyer', 'seller', 'sponsor', 'auditor', 'compliance', 'operator']);
export type PartyRole = z.infer<typeof partyRole>;

export const party = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  role: partyRole,
  /** base64url raw Ed25519 public key: every API request of this party is signed with its private key. */
  publicKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a base64url Ed25519 public key (43 characters)'),
  /** A seller's perimeter key: what signs its release statements (lib/release-statement.ts). */
  perimeterKey: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, 'a base64url Ed25519 public key (43 characters)')
    .optional(),
  /** A seller's perimeter's X25519 key: proposed drafts are sealed to it (query-policies/sealed-draft.ts). */
  perimeterSealingKey: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, 'a base64url X25519 public key (43 characters)')
    .optional(),
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

/** Registers a party in the parties file (replacing one of the same id), written atomically. */
export async function addParty(partiesPath: string, entry: Party): Promise<void> {
  const text = await readFile(partiesPath, 'utf8').catch(() => '{"parties":[]}');
  const current = partiesFile.parse(JSON.parse(text));
  const parties = [...current.parties.filter((p) => p.id !== entry.id), entry];
  await writeFileAtomic(partiesPath, `${JSON.stringify({ parties }, null, 2)}\n`);
}

/** The operator's registry of parties and their request-signing keys. */
export class PartyRegistry {
  protected byId: Map<string, Party>;

  constructor(parties: Party[]) {
    this.byId = new Map(parties.map((p) => [p.id, p]));
  }

  /** Reads the file once: for processes that look a party up per task (coordinator, settlement). */
  static async load(path: string): Promise<PartyRegistry> {
    return parsePartiesFile(path, await readFile(path, 'utf8').catch(unreadable(path)));
  }

  get(id: string): Party | undefined {
    return this.byId.get(id);
  }

  all(): Party[] {
    return [...this.byId.values()];
  }
}

/**
 * A registry that follows its file: a party the operator adds (`tusk operator party add`, which
 * replaces the file atomically) is known to the next request, without restarting the API. The file's
 * modification time and size are checked on each lookup (a stat, microseconds); a file that does not
 * parse is reported once and the parties read before stay in force, so a bad edit locks nobody out.
 */
export class ReloadingPartyRegistry extends PartyRegistry {
  private seen: string;

  private constructor(
    readonly path: string,
    parties: Party[],
    private readonly warn: (message: string) => void,
    private readonly onLoad: (parties: Party[]) => void,
  ) {
    super(parties);
    this.seen = ReloadingPartyRegistry.version(path);
    this.loaded();
  }

  /**
   * `onLoad` sees every version of the registry read, the first included: the API logs each
   * registration and rotation there (the transparency log), so a swapped key shows to its owner.
   */
  static async open(
    path: string,
    warn: (message: string) => void,
    onLoad: (parties: Party[]) => void = () => {},
  ): Promise<ReloadingPartyRegistry> {
    const parties = parsePartiesFile(path, await readFile(path, 'utf8').catch(unreadable(path)));
    return new ReloadingPartyRegistry(path, parties.all(), warn, onLoad);
  }

  private loaded(): void {
    try {
      this.onLoad(super.all());
    } catch (error) {
      this.warn(`the registry's keys were not all logged: ${(error as Error).message}`);
    }
  }

  override get(id: string): Party | undefined {
    this.refresh();
    return super.get(id);
  }

  override all(): Party[] {
    this.refresh();
    return super.all();
  }

  private static version(path: string): string {
    try {
      const stat = statSync(path);
      return `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
    } catch {
      return 'missing';
    }
  }

  private refresh(): void {
    const version = ReloadingPartyRegistry.version(this.path);
    if (version === this.seen) return;
    this.seen = version;
    try {
      this.byId = new Map(
        parsePartiesFile(this.path, readFileSync(this.path, 'utf8'))
          .all()
          .map((p) => [p.id, p]),
      );
      this.loaded();
    } catch (error) {
      this.warn(`${(error as Error).message}; keeping the ${this.byId.size} parties read before`);
    }
  }
}

function unreadable(path: string) {
  return (error: Error): never => {
    throw new Error(`cannot read the parties file ${path}: ${error.message}`);
  };
}

function parsePartiesFile(path: string, text: string): PartyRegistry {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`the parties file ${path} is not JSON: ${(error as Error).message}`);
  }
  const parsed = partiesFile.safeParse(json);
  if (!parsed.success) throw new Error(`the parties file ${path} is not valid: ${parsed.error.message}`);
  return new PartyRegistry(parsed.data.parties);
}
