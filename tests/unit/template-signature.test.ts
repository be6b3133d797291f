import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { checkTemplateSignature, signTemplate, templateHash } from '../../query-policies/signature';
import { parametersSchema, queryTemplate } from '../../query-policies/template';
import { readSignedTemplate } from '../../query-policies/template-files';
import sellerFile from '../../query-policies/demo-seller/seller.json';

const demoDir = join(__dirname, '../../query-policies/demo-seller');

describe('signed templates', () => {
  it('the committed demo template verifies with the demo seller key', async () => {
    const { template, signature } = await readSignedTemplate(demoDir, 'cohort-cost-by-zip3');
    expect(checkTemplateSignature(template, signature, sellerFile.publicKey)).toEqual({
      ok: true,
      hash: templateHash(template),
    });
  });

  it('any change after signing, a foreign key or another template is refused with the reason', async () => {
    const { template } = await readSignedTemplate(demoDir, 'cohort-cost-by-zip3');
    const seller = generateEd25519KeyPair();
    const signature = signTemplate(template, seller.privateKeyPem);
    const weakened = { ...template, minCohortSize: 2 };
    expect(checkTemplateSignature(weakened, signature, seller.publicKey)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/changed after signing/),
    });
    expect(checkTemplateSignature(template, signature, generateEd25519KeyPair().publicKey)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/does not verify/),
    });
    expect(checkTemplateSignature({ ...template, id: 'other' }, signature, seller.publicKey).ok).toBe(false);
  });

  it('a template file must be complete and consistent', async () => {
    const { template } = await readSignedTemplate(demoDir, 'cohort-cost-by-zip3');
    expect(queryTemplate.safeParse({ ...template, minCohortSize: 1 }).success).toBe(false);
    expect(queryTemplate.safeParse({ ...template, dimensions: ['Zip3; DROP'] }).success).toBe(false);
    expect(queryTemplate.safeParse({ ...template, extra: true }).success).toBe(false);
    const { sql: _sql, ...withoutSql } = template;
    expect(queryTemplate.safeParse(withoutSql).success).toBe(false);
  });

  it('parameters must all be declared, present and in bounds', async () => {
    const { template } = await readSignedTemplate(demoDir, 'cohort-cost-by-zip3');
    const schema = parametersSchema(template);
    expect(schema.safeParse({ min_age: 30, max_age: 50, sex: 'F' }).success).toBe(true);
    expect(schema.safeParse({ min_age: 30, max_age: 500, sex: 'F' }).success).toBe(false);
    expect(schema.safeParse({ min_age: 30, max_age: 50, sex: 'X' }).success).toBe(false);
    expect(schema.safeParse({ min_age: 30, sex: 'F' }).success).toBe(false);
    expect(schema.safeParse({ min_age: 30, max_age: 50, sex: 'F', zip3: '100' }).success).toBe(false);
    expect(schema.safeParse({ min_age: '30 OR 1=1', max_age: 50, sex: 'F' }).success).toBe(false);
  });
});
