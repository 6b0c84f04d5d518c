// A database, a column family, more files and options for the ingestion example.
import Strata
let db = try Database.open(at: "/data/ingest")
defer { try? db.close() }
let family = try db.createColumnFamily(named: "ingested")
let paths = ["/tmp/more.sst"]
var opts = IngestExternalFileOptions()
opts.moveFiles = true
