using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using System.Xml;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;

namespace ImLogger.Xmpp;

public sealed partial class ComponentConnection
{
    /// <summary>The reconnect loop: one stream after another, with backoff between them.</summary>
    private async Task RunLoopAsync(Func<XElement, CancellationToken, ValueTask> onStanza, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposeCts.Token);
        var token = linked.Token;
        var backoff = new Backoff(_options.InitialReconnectDelay, _options.MaxReconnectDelay);
        var attempt = 0;
        while (true)
        {
            string reason;
            Exception? failure = null;
            try
            {
                await RunStreamAsync(onStanza, backoff, token).ConfigureAwait(false);
                reason = $"the server at {_endpoint} closed the stream (Prosody restarting, or the component was unloaded)";
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (ComponentFatalException ex)
            {
                _logger.LogError("Cannot attach to the XMPP server at {Endpoint} as {Component}: {Explanation}. Not retrying: fix the configuration and restart ImLogger",
                    _endpoint, _componentDomain, ex.Message);
                throw;
            }
            catch (StanzaHandlerException ex)
            {
                ExceptionDispatchInfo.Throw(ex.InnerException!);
                throw; // unreachable; satisfies the compiler
            }
            // Describe logs protocol violations at Error; running it in the filter keeps unknown exceptions propagating untouched.
            catch (Exception ex) when (Describe(ex) is { } described)
            {
                reason = described;
                failure = ex;
            }

            if (token.IsCancellationRequested)
                return;
            // Another instance holding the component is the standby state, not a failure: a steady pace, logged once.
            if (AfterStreamEnded(failure, reason, backoff) is not { } delay)
            {
                delay = backoff.Next();
                attempt++;
                _logger.LogWarning("{Reason}; retrying in {DelaySeconds:0.0} s (attempt {Attempt})", reason, delay.TotalSeconds, attempt);
            }
            try
            {
                await Task.Delay(delay, _time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Turns a failure of one stream into the reason logged with the retry, logging protocol violations at Error
    /// first. Returns null for exceptions that are not connection failures, which then propagate.
    /// </summary>
    private string? Describe(Exception ex)
    {
        switch (ex)
        {
            case ServerUnreachableException { InnerException: SocketException se }:
                return $"cannot reach {_endpoint} ({DescribeSocketError(se)}): check that Prosody is running and that component_ports/component_interfaces include this address";
            case ServerUnreachableException unreachable:
                return $"cannot reach {_endpoint} ({unreachable.Message})";
            case WrongPortException wrongPort:
                // A mistake only a config change fixes, so ERROR each time; but either side's config, so it is retried.
                _logger.LogError("Cannot attach to the XMPP server at {Endpoint} as {Component}: {Explanation}", _endpoint, _componentDomain, wrongPort.Message);
                return $"{_endpoint} is not a component port";
            case RetryableStreamErrorException error:
                return $"the server at {_endpoint} ended the stream: {error.Error.Explain(_componentDomain)}";
            case TokenTooLargeException tooLarge:
                // The one size limit that is per connection: the parser would have to hold the token whole.
                _logger.LogError("The server at {Endpoint} sent a single XML token (a start tag with its attributes) larger than {MaxTokenBytes} bytes, which no XMPP server sends; " +
                                 "dropping the connection, that stanza is lost. Check what is connected to the component port",
                    _endpoint, tooLarge.Limit);
                return $"dropped the connection to {_endpoint} after an oversized XML token";
            case XmlException xml:
                _logger.LogError("The server at {Endpoint} sent malformed or forbidden XML (line {Line}, position {Position}): {Problem}. Is this really Prosody's component port?",
                    _endpoint, xml.LineNumber, xml.LinePosition, xml.Message);
                return $"dropped the connection to {_endpoint} after malformed XML";
            case ProtocolViolationException violation:
                _logger.LogError("The server at {Endpoint} broke the XMPP protocol: {Problem}. Is this really Prosody's component port?", _endpoint, violation.Message);
                return $"dropped the connection to {_endpoint} after a protocol violation";
            case TimeoutException timeout:
                return timeout.Message;
            case SocketException se:
                return $"lost the connection to {_endpoint} ({DescribeSocketError(se)})";
            case IOException { InnerException: SocketException se }:
                return $"lost the connection to {_endpoint} ({DescribeSocketError(se)})";
            case IOException io:
                return $"lost the connection to {_endpoint} ({io.Message})";
            case ObjectDisposedException:
                return $"lost the connection to {_endpoint} (socket closed)";
            default:
                return null;
        }
    }

    private static string DescribeSocketError(SocketException se) => se.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.ConnectionReset => "connection reset by the server",
        SocketError.ConnectionAborted => "connection aborted",
        SocketError.TimedOut => "timed out",
        SocketError.HostNotFound or SocketError.NoData => "host name not found",
        SocketError.HostUnreachable => "host unreachable",
        SocketError.NetworkUnreachable => "network unreachable",
        _ => se.Message,
    };
}
