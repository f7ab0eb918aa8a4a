/** The graph: its model (nodes, edges, filters), loading from the database, and the NetworkCandidateGraph front. */
export { NetworkCandidateGraph } from "./graph";
export { edgeKey } from "./model";
export type { JobStatus, NodeAttributes, EdgeAttributes, ImageInput, AddImagesReport, Filters } from "./model";
export type { ApplyOptions, ApplyHandle, WaitOptions, GraphOptions } from "./options";
