/** The slice of dcmjs (untyped JS) that the e2e DICOM writer uses. */
declare module 'dcmjs' {
  type Dataset = Record<string, unknown>;
  const dcmjs: {
    data: {
      DicomMetaDictionary: { denaturalizeDataset(ds: Dataset): Dataset; naturalizeDataset(ds: Dataset): Dataset };
      DicomDict: new (meta: Dataset) => { dict: Dataset; write(): ArrayBuffer };
    };
  };
  export default dcmjs;
}
