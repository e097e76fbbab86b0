/** The viewer facade and its React component. */
export { QuViewer, viewer, type OverlayOptions } from './qu-viewer.ts';
export { Viewer } from './Viewer.tsx';
