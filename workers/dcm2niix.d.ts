/** Types for the parts of @niivue/dcm2niix (shipped as plain JS) that the load worker uses. */
declare module '@niivue/dcm2niix' {
  interface Processor {
    bids(value: 'y' | 'n' | 'o'): Processor;
    gzip(value: 'y' | 'n' | 'i' | '3'): Processor;
    run(): Promise<File[]>;
  }
  export class Dcm2niix {
    init(): Promise<boolean>;
    input(files: ArrayLike<File>): Processor;
  }
}
