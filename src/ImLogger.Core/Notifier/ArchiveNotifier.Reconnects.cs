namespace ImLogger.Notifier;

/// <summary>Sign-outs and reconnects: the hour starts over when a logged user signs out, but a client that drops its
/// connection and comes back (a phone changing networks, a flapping link) has not signed out, and its return is no
/// reason to tell a whole conversation again.</summary>
public sealed partial class ArchiveNotifier
{
    /// <summary>Logged users whose session signed out, by when (monotonic timestamp), not yet back, with the conversations
    /// they were in then (a room forgets them as they leave it, which follows the sign-out).</summary>
    private readonly Dictionary<string, (long At, List<string> Conversations)> _signedOut = new(StringComparer.Ordinal);

    /// <summary>A sign-out or a room leave followed within this time by the same user's return is a reconnect: it
    /// neither starts the hour over nor counts as activity for anyone but the returning user.</summary>
    public TimeSpan ReconnectGrace { get; }

    /// <summary>A logged user's session signed out (an unavailable broadcast). Their conversations' notice hour starts
    /// over once they have been away longer than <see cref="ReconnectGrace"/>; back sooner, nothing changes.</summary>
    public void SignedOut(string loggedUserBareJid)
    {
        ArgumentException.ThrowIfNullOrEmpty(loggedUserBareJid);
        if (_signedOut.ContainsKey(loggedUserBareJid)) return;
        // A room names one logged receiver per event (the copy kept), so an occupant counts by their real JID too.
        var conversations = _conversations.Values
            .Where(c => c.LoggedUsers.Contains(loggedUserBareJid) || c.Participants.Contains(loggedUserBareJid, StringComparer.Ordinal))
            .Select(c => c.Key).ToList();
        if (conversations.Count > 0) _signedOut[loggedUserBareJid] = (_time.GetTimestamp(), conversations);
    }

    /// <summary>Something came from this user (a presence, a message): a session of theirs is online. Within the grace of
    /// a sign-out that was a reconnect; later, the sign-out takes effect now (if it has not already).</summary>
    public void Seen(string bareJid)
    {
        if (_signedOut.Count == 0 || !_signedOut.Remove(bareJid, out var signedOut)) return;
        if (_time.GetElapsedTime(signedOut.At) >= ReconnectGrace) StartOver(signedOut.Conversations);
    }

    /// <summary>Applies the sign-outs of users away longer than the grace, before the activity that would notify.</summary>
    private void StartOverForSignOuts(long now)
    {
        if (_signedOut.Count == 0) return;
        foreach (var (user, signedOut) in _signedOut.Where(kv => _time.GetElapsedTime(kv.Value.At, now) >= ReconnectGrace).ToList())
        {
            _signedOut.Remove(user);
            StartOver(signedOut.Conversations);
        }
    }

    private void StartOver(List<string> conversations)
    {
        foreach (var key in conversations)
            if (_conversations.TryGetValue(key, out var c))
            {
                ForgetKept(c);
                c.LastSent.Clear();
            }
    }
}
