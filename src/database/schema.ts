/**
 * The schema, as numbered migrations. `autocnet_schema` records which have run; opening a database runs
 * the missing ones in order. Footprints are GeoJSON text in every database (so the embedded one and a
 * server agree); a server with PostGIS also gets a geometry column, kept in step by a trigger.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
  /** Only where PostGIS is installed. */
  postgis?: boolean;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: "images, edges, applies, job status, built-in job results",
    sql: `
      CREATE TABLE IF NOT EXISTS images (
        id            serial PRIMARY KEY,
        name          text NOT NULL UNIQUE,
        path          text,
        footprint     text,                 -- GeoJSON MultiPolygon, lon/lat degrees
        ignore        boolean NOT NULL DEFAULT false,
        ignore_reason text,
        created_at    timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE IF NOT EXISTS edges (
        source       integer NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        destination  integer NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        overlap      text,                  -- GeoJSON MultiPolygon of the intersection
        overlap_area double precision NOT NULL,
        PRIMARY KEY (source, destination),
        CHECK (source < destination)
      );
      CREATE TABLE IF NOT EXISTS applies (
        apply_id     text PRIMARY KEY,
        func         text NOT NULL,
        along        text,
        count        integer NOT NULL,
        args         text,
        kwargs       text,
        walltime     integer,
        submitted_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE IF NOT EXISTS job_status (
        func        text NOT NULL,
        along       text NOT NULL,
        target      text NOT NULL,          -- JSON of the node id or [source, destination]
        success     boolean NOT NULL,
        attempts    integer NOT NULL,
        last_params text,
        job_id      text,
        finished_at timestamptz NOT NULL,
        PRIMARY KEY (func, along, target)
      );
      CREATE TABLE IF NOT EXISTS overlap_results (
        source       integer NOT NULL,
        destination  integer NOT NULL,
        job_id       text NOT NULL,
        area         double precision NOT NULL,
        intersection text,
        computed_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (source, destination)
      );
      CREATE TABLE IF NOT EXISTS footprint_stats (
        image_id     integer PRIMARY KEY,
        job_id       text NOT NULL,
        area         double precision NOT NULL,
        centroid_lon double precision NOT NULL,
        centroid_lat double precision NOT NULL,
        computed_at  timestamptz NOT NULL DEFAULT now()
      );`,
  },
  {
    version: 2,
    description: "PostGIS geometry of footprints",
    postgis: true,
    sql: `
      ALTER TABLE images ADD COLUMN IF NOT EXISTS geom geometry(MultiPolygon, 4326);
      CREATE INDEX IF NOT EXISTS images_geom_idx ON images USING gist (geom);
      CREATE OR REPLACE FUNCTION autocnet_images_geom() RETURNS trigger AS $$
      BEGIN
        IF NEW.footprint IS NULL OR NEW.ignore THEN
          NEW.geom := NULL;
        ELSE
          NEW.geom := ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(NEW.footprint), 4326));
        END IF;
        RETURN NEW;
      END $$ LANGUAGE plpgsql;
      DROP TRIGGER IF EXISTS images_geom ON images;
      CREATE TRIGGER images_geom BEFORE INSERT OR UPDATE OF footprint, ignore ON images
        FOR EACH ROW EXECUTE FUNCTION autocnet_images_geom();
      UPDATE images SET footprint = footprint;`,
  },
  {
    version: 3,
    description: "targets of each apply, so a campaign can be reconciled after Redis lost its data",
    sql: `ALTER TABLE applies ADD COLUMN IF NOT EXISTS targets text`,
  },
  {
    version: 4,
    description: "the job ledger: per-job kwargs and the worker walltime of each apply, every job's outcome, and a jobs view",
    sql: `
      ALTER TABLE applies ADD COLUMN IF NOT EXISTS worker_walltime integer;
      ALTER TABLE applies ADD COLUMN IF NOT EXISTS kwargs_for text;   -- JSON {index: kwargs} of jobs whose kwargs differ
      CREATE TABLE IF NOT EXISTS job_outcomes (
        job_id      text PRIMARY KEY,         -- <apply_id>-<idx>
        apply_id    text NOT NULL,
        idx         integer NOT NULL,
        func        text NOT NULL,
        outcome     text NOT NULL,            -- completed or dead
        attempts    integer NOT NULL,
        reason      text,
        finished_at timestamptz NOT NULL
      );
      CREATE INDEX IF NOT EXISTS job_outcomes_apply_idx ON job_outcomes (apply_id);
      -- outcomes recorded before the ledger existed
      INSERT INTO job_outcomes (job_id, apply_id, idx, func, outcome, attempts, finished_at)
        SELECT s.job_id, substring(s.job_id from '^(.+)-[0-9]+$'), substring(s.job_id from '-([0-9]+)$')::integer, s.func,
               CASE WHEN s.success THEN 'completed' ELSE 'dead' END, s.attempts, s.finished_at
          FROM job_status s WHERE s.job_id ~ '^.+-[0-9]+$' AND s.job_id !~ '^f-'
        ON CONFLICT (job_id) DO NOTHING;
      -- one row per job of every recorded apply: what it was asked to do and how it ended (null: unfinished)
      CREATE OR REPLACE VIEW jobs AS
        SELECT a.apply_id || '-' || (t.ord - 1) AS job_id, a.apply_id, (t.ord - 1)::integer AS idx, a.func, t.value::text AS target,
               COALESCE((a.kwargs_for::jsonb) -> (t.ord - 1)::text, a.kwargs::jsonb)::text AS kwargs, a.walltime,
               o.outcome, o.attempts, o.reason, o.finished_at
          FROM applies a
          CROSS JOIN LATERAL jsonb_array_elements(a.targets::jsonb) WITH ORDINALITY AS t(value, ord)
          LEFT JOIN job_outcomes o ON o.job_id = a.apply_id || '-' || (t.ord - 1)
         WHERE a.targets IS NOT NULL;`,
  },
  {
    version: 5,
    description: "images from files: format, size, georeference, serial number; ground truth of synthetic campaigns",
    sql: `
      ALTER TABLE images ADD COLUMN IF NOT EXISTS format text;      -- isis3 | geotiff (null: a footprint only)
      ALTER TABLE images ADD COLUMN IF NOT EXISTS width integer;
      ALTER TABLE images ADD COLUMN IF NOT EXISTS height integer;
      ALTER TABLE images ADD COLUMN IF NOT EXISTS bands integer;
      ALTER TABLE images ADD COLUMN IF NOT EXISTS serial text;      -- ISIS serial number (control networks)
      ALTER TABLE images ADD COLUMN IF NOT EXISTS georef text;      -- JSON {kind, affine: [a..f], radius}: lon = a x + b y + c, lat = d x + e y + f
      CREATE TABLE IF NOT EXISTS ground_truth (
        image_name     text PRIMARY KEY,   -- images.name
        campaign       text,               -- the campaign directory or seed it came from
        radius         double precision NOT NULL,
        width          integer NOT NULL,
        height         integer NOT NULL,
        true_affine    text NOT NULL,      -- JSON [a..f], the exact pixel -> ground map the frame was rendered with
        apriori_affine text NOT NULL,      -- JSON [a..f], the deliberately wrong map stored in the file
        recorded_at    timestamptz NOT NULL DEFAULT now()
      );`,
  },
  {
    version: 6,
    description: "matching: keypoints, matches, overlay, points, measures (AutoCNet's columns); edges get homography, fundamental, masks",
    sql: `
      CREATE TABLE IF NOT EXISTS keypoints (
        image_id          integer PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
        method            text NOT NULL,
        nkeypoints        integer NOT NULL,
        keypoints         bytea NOT NULL,   -- float32 little-endian rows of (x, y, response, size, angle, octave), our pixel convention
        descriptors       bytea NOT NULL,   -- nkeypoints rows of descriptor_size values
        descriptor_size   integer NOT NULL,
        descriptor_type   text NOT NULL,    -- uint8 (binary, Hamming) | float32 (L2)
        convex_hull_image text,             -- GeoJSON polygon of the keypoints, pixel space
        job_id            text,
        created_at        timestamptz NOT NULL DEFAULT now()
      );
      ALTER TABLE edges ADD COLUMN IF NOT EXISTS homography double precision[];   -- 3x3 row-major, source pixel -> destination pixel
      ALTER TABLE edges ADD COLUMN IF NOT EXISTS fundamental double precision[];  -- 3x3 row-major, x_d' F x_s = 0
      ALTER TABLE edges ADD COLUMN IF NOT EXISTS ring double precision[];
      ALTER TABLE edges ADD COLUMN IF NOT EXISTS masks text;                      -- JSON {name: [match ids kept]}
      ALTER TABLE edges ADD COLUMN IF NOT EXISTS weights text;                    -- JSON {name: value}: residuals, inlier counts
      CREATE TABLE IF NOT EXISTS matches (
        id              bigserial PRIMARY KEY,
        source          integer NOT NULL,
        source_idx      integer NOT NULL,
        destination     integer NOT NULL,
        destination_idx integer NOT NULL,
        source_x        double precision NOT NULL,
        source_y        double precision NOT NULL,
        destination_x   double precision NOT NULL,
        destination_y   double precision NOT NULL,
        source_apriori_x      double precision,
        source_apriori_y      double precision,
        destination_apriori_x double precision,
        destination_apriori_y double precision,
        shift_x         double precision,
        shift_y         double precision,
        distance        double precision,   -- descriptor distance
        lat             double precision,
        lon             double precision,
        point_id        integer,
        source_measure_id integer,
        destin_measure_id integer,
        job_id          text
      );
      CREATE INDEX IF NOT EXISTS matches_edge_idx ON matches (source, destination);
      CREATE TABLE IF NOT EXISTS overlay (
        id            serial PRIMARY KEY,
        intersections integer[] NOT NULL,   -- the images whose footprints all cover it
        geom          text NOT NULL,        -- GeoJSON MultiPolygon, lon/lat degrees
        UNIQUE (intersections)
      );
      CREATE TABLE IF NOT EXISTS points (
        id             serial PRIMARY KEY,
        pointtype      integer NOT NULL DEFAULT 2,  -- 2 free, 3 constrained, 4 fixed (ISIS)
        identifier     text,
        overlapid      integer REFERENCES overlay(id) ON DELETE CASCADE,
        geom           text,                        -- GeoJSON Point, lon/lat degrees (a priori)
        apriorix       double precision, aprioriy double precision, aprioriz double precision,     -- body-fixed metres
        adjustedx      double precision, adjustedy double precision, adjustedz double precision,
        pointignore    boolean NOT NULL DEFAULT false,
        referenceindex integer NOT NULL DEFAULT 0,  -- index (in measure id order) of the reference measure
        residuals      double precision[],
        maxresidual    double precision,
        job_id         text
      );
      CREATE INDEX IF NOT EXISTS points_overlap_idx ON points (overlapid);
      CREATE TABLE IF NOT EXISTS measures (
        id             serial PRIMARY KEY,
        pointid        integer NOT NULL REFERENCES points(id) ON DELETE CASCADE,
        imageid        integer NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        serialnumber   text NOT NULL,
        measuretype    integer NOT NULL DEFAULT 0,  -- 0 candidate, 1 manual, 2 pixel, 3 sub-pixel registered (ISIS)
        sample         double precision NOT NULL,   -- x, our convention: 0-based, pixel centres at integers (ISIS sample - 1)
        line           double precision NOT NULL,   -- y, our convention (ISIS line - 1)
        apriorisample  double precision,
        aprioriline    double precision,
        sampler        double precision, liner double precision, residual double precision,
        samplesigma    double precision, linesigma double precision,
        templatemetric double precision,
        templateshift  double precision,
        phaseerror     double precision, phasediff double precision, phaseshift double precision,
        choosername    text,
        measureignore  boolean NOT NULL DEFAULT false,
        measurejigsawrejected boolean NOT NULL DEFAULT false,
        weight         double precision,
        rms            double precision,
        job_id         text
      );
      CREATE INDEX IF NOT EXISTS measures_point_idx ON measures (pointid);
      CREATE INDEX IF NOT EXISTS measures_image_idx ON measures (imageid);`,
  },
  {
    version: 7,
    description: "a job's return value (size-capped) with its outcome and in job_status",
    sql: `
      ALTER TABLE job_outcomes ADD COLUMN IF NOT EXISTS result text;   -- JSON of what the job function returned (capped)
      ALTER TABLE job_status ADD COLUMN IF NOT EXISTS result text;`,
  },
  {
    version: 8,
    description: "an apply's targets stored uncompressed (half the time to record a large apply; they are written once, read rarely)",
    // pglz over a million-target JSON text took as long as the rest of recording it (PGlite: ~600 → ~300 ms)
    sql: `ALTER TABLE applies ALTER COLUMN targets SET STORAGE EXTERNAL;`,
  },
];
