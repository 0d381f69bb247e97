/** zod schemas for values that enter the market code from outside (options, env, JSON files). */
import { getAddress, isAddress } from 'ethers';
import { z } from 'zod';

export const addressSchema = z
  .string()
  .refine((s) => isAddress(s), { message: 'not a 20-byte hex address' })
  .transform((s) => getAddress(s));

/** A token amount in base units: a bigint, a safe integer, or a decimal string. */
export const amountSchema = z
  .union([z.bigint(), z.number().int().safe(), z.string().regex(/^\d+$/, 'a decimal integer string')])
  .transform((v) => BigInt(v))
  .refine((v) => v >= 0n && v < 1n << 96n, { message: 'must fit in 96 bits and be non-negative' });

export const privateKeySchema = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 0x-prefixed 32-byte hex private key');
