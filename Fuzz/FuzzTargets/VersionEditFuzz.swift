import Strata

extension FuzzTargets {
    /// VersionEdit decoder (spec section 13): the input is one MANIFEST
    /// record's payload.
    /// Property: an edit that decodes re-encodes to bytes that decode to
    /// the same edit (every field Strata keeps survives a MANIFEST rewrite,
    /// as the new MANIFEST written at each open requires).
    public static func versionEdit(_ data: UnsafeRawBufferPointer) {
        let edit: VersionEdit
        do {
            edit = try VersionEdit.decode(data)
        } catch {
            return
        }
        let encoded = edit.encode()
        do {
            let again = try VersionEdit.decode(encoded)
            fuzzCheck(again == edit, "edit changes through encode and decode")
        } catch {
            fuzzCheck(false, "a re-encoded edit does not decode: \(error)")
        }
    }
}
