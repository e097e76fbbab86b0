/** Types for the parts of @niivue/dcm2niix (shipped as plain JS) that dicom.ts uses. */
declare module '@niivue/dcm2niix' {
  interface Processor {
    bids(value: 'y' | 'n' | 'o'): Processor;
    gzip(value: 'y' | 'n' | 'i' | '3'): Processor;
    run(): Promise<File[]>;
  }
  export class Dcm2niix {
    /** The package's Web Worker: no method ends it, so dicom.ts terminates it here. */
    worker: Worker | null;
    init(): Promise<boolean>;
    input(files: ArrayLike<File>): Processor;
  }
}
