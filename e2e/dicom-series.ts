/** Test helper: writes a Volume as a DICOM MR series (one file per axial slice) with dcmjs. */
import dcmjs from 'dcmjs';
import type { Volume } from '../src/core/volume.ts';
import type { FileSpec } from './harness.ts';

export interface SeriesOptions {
  seriesNumber: number;
  seriesDescription: string;
  protocolName?: string;
  /** Shared by series of one study. */
  studyUid?: string;
  /** false: files without the PixelData element (headers only), which no reader can turn into an image. */
  pixelData?: boolean;
  /** Milliseconds, as DICOM records them: echo 90 and repetition 9000 unless given; no inversion unless given. */
  echoTime?: number;
  repetitionTime?: number;
  inversionTime?: number;
}

const ROOT_UID = '2.25.31337';

function unit(v: number[]): number[] {
  const n = Math.hypot(v[0], v[1], v[2]);
  return v.map((x) => x / n);
}

/**
 * DICOM patient coordinates are LPS, the affine is RAS: x and y change sign. Columns run along
 * voxel axis i, rows along j, one file per k.
 */
export function volumeToDicom(vol: Volume, opts: SeriesOptions): FileSpec[] {
  const { DicomMetaDictionary, DicomDict } = dcmjs.data;
  const [nx, ny, nz] = vol.dims;
  const a = vol.affine;
  const lps = (v: number[]) => [-v[0], -v[1], v[2]];
  const colDir = unit(lps([a[0], a[4], a[8]]));
  const rowDir = unit(lps([a[1], a[5], a[9]]));
  const study = opts.studyUid ?? `${ROOT_UID}.1`;
  const series = `${study}.${opts.seriesNumber}`;
  const files: FileSpec[] = [];
  for (let k = 0; k < nz; k++) {
    const pos = lps([a[2] * k + a[3], a[6] * k + a[7], a[10] * k + a[11]]);
    const px = new Uint16Array(nx * ny);
    for (let i = 0; i < nx * ny; i++) px[i] = Math.max(0, Math.min(65535, Math.round(vol.data[k * nx * ny + i])));
    const sop = `${series}.${k + 1}`;
    const ds = {
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.4',
      SOPInstanceUID: sop,
      StudyInstanceUID: study,
      SeriesInstanceUID: series,
      FrameOfReferenceUID: `${study}.99`,
      Modality: 'MR',
      PatientName: 'Phantom^QuMRI',
      PatientID: 'PHANTOM',
      StudyDate: '20260101',
      SeriesDate: '20260101',
      StudyTime: '120000',
      SeriesTime: '120000',
      AcquisitionTime: '120000',
      Manufacturer: 'QuMRI',
      MagneticFieldStrength: 3,
      EchoTime: opts.echoTime ?? 90,
      RepetitionTime: opts.repetitionTime ?? 9000,
      ...(opts.inversionTime === undefined ? {} : { InversionTime: opts.inversionTime }),
      SeriesNumber: opts.seriesNumber,
      SeriesDescription: opts.seriesDescription,
      ProtocolName: opts.protocolName ?? opts.seriesDescription,
      InstanceNumber: k + 1,
      AcquisitionNumber: 1,
      Rows: ny,
      Columns: nx,
      BitsAllocated: 16,
      BitsStored: 16,
      HighBit: 15,
      PixelRepresentation: 0,
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      PixelSpacing: [vol.spacing[1], vol.spacing[0]],
      SliceThickness: vol.spacing[2],
      SpacingBetweenSlices: vol.spacing[2],
      ImagePositionPatient: pos,
      ImageOrientationPatient: [...colDir, ...rowDir],
      SliceLocation: pos[2],
      PixelData: px.buffer,
      _vrMap: { PixelData: 'OW' },
    };
    const meta = {
      FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
      MediaStorageSOPClassUID: ds.SOPClassUID,
      MediaStorageSOPInstanceUID: sop,
      TransferSyntaxUID: '1.2.840.10008.1.2.1',
      ImplementationClassUID: `${ROOT_UID}.0`,
    };
    const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
    if (opts.pixelData === false) delete (ds as Partial<typeof ds>).PixelData;
    dict.dict = DicomMetaDictionary.denaturalizeDataset(ds);
    files.push({
      name: `S${opts.seriesNumber}_IM${String(k + 1).padStart(4, '0')}`,
      bytes: new Uint8Array(dict.write()),
    });
  }
  return files;
}
