/**
 * ELF32 RISC-V loader (docs/vm-spec.md section 6): every PT_LOAD segment's file bytes are copied
 * to p_vaddr; the rest up to p_memsz stays zero (memory starts zero). Nothing else of the file
 * (sections, symbols, flags) influences the VM state.
 */
import { VmError } from './errors';
import { Memory } from './memory';

export class ElfError extends VmError {
  override name = 'ElfError';
}

export class ElfTruncated extends ElfError {
  override name = 'ElfTruncated';
  constructor(
    readonly what: string,
    readonly needed: number,
    readonly size: number,
  ) {
    super(`ELF file too short for its ${what}: needs ${needed} bytes, has ${size}`);
  }
}

export class ElfMagicInvalid extends ElfError {
  override name = 'ElfMagicInvalid';
  constructor(readonly magic: string) {
    super(`not an ELF file (magic ${magic})`);
  }
}

export class ElfClassInvalid extends ElfError {
  override name = 'ElfClassInvalid';
  constructor(readonly elfClass: number) {
    super(`ELF class ${elfClass} is not ELFCLASS32 (1)`);
  }
}

export class ElfEndiannessInvalid extends ElfError {
  override name = 'ElfEndiannessInvalid';
  constructor(readonly data: number) {
    super(`ELF data encoding ${data} is not little-endian (1)`);
  }
}

export class ElfMachineInvalid extends ElfError {
  override name = 'ElfMachineInvalid';
  constructor(readonly machine: number) {
    super(`ELF machine ${machine} is not RISC-V (243)`);
  }
}

export class ElfTypeInvalid extends ElfError {
  override name = 'ElfTypeInvalid';
  constructor(readonly type: number) {
    super(`ELF type ${type} is not ET_EXEC (2)`);
  }
}

export class ElfSegmentInvalid extends ElfError {
  override name = 'ElfSegmentInvalid';
  constructor(
    readonly index: number,
    readonly vaddr: number,
    readonly filesz: number,
    readonly memsz: number,
  ) {
    super(
      `ELF segment ${index} (vaddr 0x${vaddr.toString(16)}, filesz ${filesz}, memsz ${memsz}) ` +
        `does not fit: filesz > memsz or it runs past the 2^32-byte address space`,
    );
  }
}

const ELFCLASS32 = 1;
const ELFDATA2LSB = 1;
const ET_EXEC = 2;
const EM_RISCV = 243;
const PT_LOAD = 1;
const EHDR_SIZE = 52;
const PHDR_SIZE = 32;

export interface ElfSegment {
  vaddr: number;
  filesz: number;
  memsz: number;
}

export interface ElfImage {
  entry: number;
  segments: ElfSegment[];
  /** Memory holding the loaded segments; its root is the image root. */
  memory: Memory;
}

export function loadElf(file: Uint8Array, memory: Memory = new Memory()): ElfImage {
  if (file.length < 16) throw new ElfTruncated('identification', 16, file.length);
  if (file[0] !== 0x7f || file[1] !== 0x45 || file[2] !== 0x4c || file[3] !== 0x46) {
    throw new ElfMagicInvalid(Buffer.from(file.subarray(0, 4)).toString('hex'));
  }
  if (file[4] !== ELFCLASS32) throw new ElfClassInvalid(file[4]);
  if (file[5] !== ELFDATA2LSB) throw new ElfEndiannessInvalid(file[5]);
  if (file.length < EHDR_SIZE) throw new ElfTruncated('header', EHDR_SIZE, file.length);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const type = view.getUint16(16, true);
  const machine = view.getUint16(18, true);
  if (machine !== EM_RISCV) throw new ElfMachineInvalid(machine);
  if (type !== ET_EXEC) throw new ElfTypeInvalid(type);
  const entry = view.getUint32(24, true);
  const phoff = view.getUint32(28, true);
  const phentsize = view.getUint16(42, true);
  const phnum = view.getUint16(44, true);
  const tableEnd = phoff + phnum * Math.max(phentsize, PHDR_SIZE);
  if (phnum > 0 && tableEnd > file.length) throw new ElfTruncated('program headers', tableEnd, file.length);

  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const h = phoff + i * phentsize;
    if (view.getUint32(h, true) !== PT_LOAD) continue;
    const offset = view.getUint32(h + 4, true);
    const vaddr = view.getUint32(h + 8, true);
    const filesz = view.getUint32(h + 16, true);
    const memsz = view.getUint32(h + 20, true);
    if (filesz > memsz || vaddr + memsz > 2 ** 32) throw new ElfSegmentInvalid(i, vaddr, filesz, memsz);
    if (offset + filesz > file.length) throw new ElfTruncated(`segment ${i}`, offset + filesz, file.length);
    memory.writeBytes(vaddr, file.subarray(offset, offset + filesz));
    segments.push({ vaddr, filesz, memsz });
  }
  return { entry, segments, memory };
}
