// Package atomicfile writes a file so that a reader, or a crash, sees either
// the old file or the whole new one, never part of one.
//
// Write streams the content into a temporary file in the destination's
// folder (a rename is atomic only within one file system), fsyncs it, makes
// it readable by everyone (0644: results and checkpoints are meant to be
// shared; os.CreateTemp would leave 0600), renames it over the destination
// and fsyncs the folder so that the rename itself survives a power cut.
//
// Invariants:
//   - On any error (the caller's write function, the sync, the rename) the
//     destination is untouched and no temporary file is left in its folder.
//   - The write function's own error is returned as it is (errors.Cause of
//     the result is that error), so callers can test for it.
//   - The temporary file is named "." + base + ".tmp" + random digits:
//     hidden, and never mistaken for the destination.
//
// Why not github.com/google/renameio/v2: it does the same on Unix but does
// not build on Windows, where this toolkit's commands also run; the 40
// lines here do.
package atomicfile
