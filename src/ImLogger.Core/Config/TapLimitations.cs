namespace ImLogger.Config;

/// <summary>
/// Tap mode (an explicit <c>&lt;attach mode="tap"/&gt;</c>) archives copies; it cannot hold or refuse anything. What the
/// config asks for that only inline mode enforces is named here, one sentence per setting, so that an admin who chose
/// tap sees what it leaves unenforced: said by <c>check-config</c>, at every start and on every reload.
/// </summary>
public static class TapLimitations
{
    /// <summary>One warning per configured setting tap mode cannot enforce; empty in inline mode.</summary>
    public static IReadOnlyList<string> Warnings(ImLoggerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Attach.Mode != AttachMode.Tap) return [];
        var warnings = new List<string>();
        foreach (var org in config.Organizations.Where(o => o.ApprovedClients is { Count: > 0 }))
            warnings.Add($"organization {org.Name}: <approved-clients> ({string.Join("; ", org.ApprovedClients!)}) is NOT enforced in tap mode: " +
                         "a logged user on another client is archived, not refused");
        foreach (var room in config.Restrictions.EncryptedRooms)
            warnings.Add($"<restrictions> <encrypted-room jid=\"{room}\"/> is NOT enforced in tap mode: a logged user can join it");
        if (config.Organizations.Count > 0)
            warnings.Add("the restrictions that always apply to logged users are NOT enforced in tap mode: end-to-end encrypted messages " +
                         "(OMEMO, OpenPGP, OTR) are delivered (archived unreadable), and group chats on other servers can be joined");
        warnings.Add("tap mode cannot refuse anything: while ImLogger is stopped or restarting, logged users' messages are delivered and NOT archived. " +
                     "Use <attach mode=\"inline\"/> (the default) unless the server cannot load mod_imlogger_inline (docs/inline-protocol.md)");
        return warnings;
    }
}
