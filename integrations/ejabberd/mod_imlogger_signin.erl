%%% mod_imlogger_signin: approved clients at sign-in, the ejabberd side of docs/inline-protocol.md ("Approved clients at
%%% sign-in"), step by step as the `signin` block of integrations/prosody/mod_imlogger_inline.lua. ejabberd 23.01. Not a
%%% gen_mod of its own: mod_imlogger_inline adds these hooks on each host it is loaded on (option check_clients, written
%%% by `imlogger server-config` for an organization with <approved-clients>); build.sh compiles it into the same module.
%%%
%%% A logged user's session is judged before it takes part. Everything happens in the session's own c2s process, and
%%% the gate lives in its state (imlogger_gate), so no other process or user can answer for it:
%%%  - c2s_session_opened (resource bound; runs before the bind result is sent): the gate shuts, and a message to
%%%    ourselves asks the client its version (XEP-0092) right after the bind result.
%%%  - user_send_packet (priority 0, before the inline hold and every module): the answer (an iq result or error with
%%%    the query's id; the first one counts) is taken; everything else the session sends waits (dropped if refused); the
%%%    caps of its first presence are kept; past 100 stanzas it is a flood.
%%%  - c2s_handle_info (priority 0): stanzas routed to the session wait ({route, Pkt}, before ejabberd_c2s processes
%%%    them); c2s_filter_send: what the server would send it directly waits too.
%%%  - the client-check request goes to ImLogger from the host's JID; its answer (an iq from the component to the host,
%%%    taken in mod_imlogger_inline's filter_packet) reaches this process by the request id (a table of id -> pid).
%%%  - admitted: what the session sent goes through ejabberd_c2s:handle_authenticated_packet/2 (the inline hold, then
%%%    routing), then what was sent to it is delivered, in order. Refused: one message from the component, then the
%%%    stream error policy-violation with the same text; what waited for it is routed again once its session is closed
%%%    (c2s_terminated, after ejabberd_c2s has unregistered it): the user's other sessions or offline storage.
%%%  - XEP-0198 resumption (mod_stream_mgmt): the new process inherits the gate (c2s_copy_session) and its timers.

-module(mod_imlogger_signin).

-export([init/0, session_opened/1, user_send_packet/1, c2s_handle_info/2, filter_send/1, copy_session/2,
         terminated/2, verdict/2, component_back/1]).

-include("xmpp.hrl").
-include("logger.hrl").

-define(TABLE, imlogger_signin_checks).
-define(NS, <<"urn:imlogger:inline:0">>).
-define(NS_CAPS_EL, <<"http://jabber.org/protocol/caps">>).
-define(MAX_ANSWER, 4096).   % bytes of a version answer forwarded to ImLogger; beyond, refused as too large
-define(MAX_WAITING, 100).   % stanzas a session may send before it is judged; beyond, a flood
-define(MAX_INCOMING, 200).  % stanzas for it kept meanwhile; beyond, bounced
-define(RETRY_MS, 500).
-define(UNREACHABLE, <<"ImLogger could not check which client you use (archiving is unavailable), so this session was closed. Sign in again in a moment.">>).
-define(AWAY, ['remote-server-timeout', 'service-unavailable', 'remote-server-not-found', 'recipient-unavailable']).

%% Called by mod_imlogger_inline:start/2: request id -> the c2s process waiting for ImLogger's judgement, and its host.
init() ->
    case ets:whereis(?TABLE) of
        undefined ->
            ets:new(?TABLE, [named_table, public, set, {heir, whereis(ejabberd_gen_mod_sup), none}]),
            ok;
        _ -> ok
    end.

opt(Host, Opt) -> gen_mod:get_module_opt(Host, mod_imlogger_inline, Opt).

bare(JID) -> jid:encode(jid:remove_resource(jid:tolower(JID))).

now_ms() -> erlang:monotonic_time(millisecond).

%%%===================================================================
%%% Hooks (all in the session's c2s process)
%%%===================================================================
%% A logged user's session has bound a resource: shut the gate; the question goes once the bind result is out.
session_opened(#{jid := JID, lserver := Host} = State) ->
    User = bare(JID),
    case gen_mod:is_loaded(Host, mod_imlogger_inline) andalso opt(Host, check_clients)
         andalso mod_imlogger_inline:is_logged(User, Host) of
        false -> State;
        true ->
            Gate = #{state => waiting, user => User, full => jid:encode(JID),
                     query => <<"imlogger-version-", (p1_rand:get_string())/binary>>,
                     query_sent => false, answer => undefined, asked => false, seen_presence => false,
                     out => [], direct => [], incoming => []},
            self() ! {imlogger_signin, ask_client},
            State#{imlogger_gate => Gate}
    end;
session_opened(State) -> State.

%% Everything the session sends while it waits: its answer is read; the rest waits (dropped if it is refused).
user_send_packet({Pkt, #{imlogger_gate := #{state := waiting} = Gate} = State}) ->
    {stop, {drop, State#{imlogger_gate => outgoing(Pkt, Gate, State)}}};
user_send_packet({_Pkt, #{imlogger_gate := _Closing} = State}) ->
    {stop, {drop, State}};
user_send_packet(Acc) -> Acc.

outgoing(#iq{type = T, id = Id} = IQ, #{query := Id} = Gate, _State) when T == result; T == error ->
    case Gate of
        #{answer := undefined} ->
            El = xmpp:encode(IQ),
            Size = byte_size(fxml:element_to_binary(El)),
            case Size > ?MAX_ANSWER of
                true -> check(Gate#{answer => <<"too-large">>, size => Size});
                false -> check(Gate#{answer => atom_to_binary(T, utf8), reply => El})
            end;
        _ -> Gate % a second answer to the one question: the first counts
    end;
outgoing(Pkt, #{out := Out, seen_presence := Seen} = Gate, #{jid := JID}) ->
    %% The caps of its first presence (an initial presence: ejabberd addresses it to the user's own bare JID).
    Gate1 = case Pkt of
                #presence{type = available, to = To} when not Seen ->
                    case To == undefined orelse bare(To) == bare(JID) of
                        true -> Gate#{seen_presence => true, caps => caps(Pkt)};
                        false -> Gate
                    end;
                _ -> Gate
            end,
    case length(Out) >= ?MAX_WAITING of
        true ->
            case Gate1 of
                #{answer := undefined} -> check(Gate1#{answer => <<"flood">>});
                _ -> Gate1
            end;
        false -> Gate1#{out => [Pkt | Out]}
    end.

caps(Pkt) ->
    case fxml:get_subtag_with_xmlns(xmpp:encode(Pkt), <<"c">>, ?NS_CAPS_EL) of
        #xmlel{} = C ->
            case byte_size(fxml:element_to_binary(C)) =< 1024 of
                true -> C;
                false -> undefined
            end;
        _ -> undefined
    end.

%% Stanzas routed to the session while it waits (or is being closed), from anyone, the server and ImLogger included;
%% and the messages of this module to itself.
c2s_handle_info(#{imlogger_gate := Gate} = State, {route, Pkt}) ->
    #{incoming := In} = Gate,
    case length(In) >= ?MAX_INCOMING of
        true ->
            case xmpp:get_type(Pkt) of
                T when T == error; T == result -> ok;
                _ -> ejabberd_router:route_error(Pkt, xmpp:err_recipient_unavailable(<<"The recipient is signing in; try again in a moment.">>, <<"en">>))
            end,
            {stop, State};
        false -> {stop, State#{imlogger_gate => Gate#{incoming => [Pkt | In]}}}
    end;
c2s_handle_info(State, {imlogger_signin, Msg}) ->
    {stop, handle(Msg, State)};
c2s_handle_info(State, _Info) -> State.

%% What the server sends the session itself, without routing, waits too; this module's own stanzas pass.
filter_send({Pkt, #{imlogger_gate := #{state := St, direct := Direct} = Gate} = State} = Acc) ->
    case xmpp:is_stanza(Pkt) andalso not xmpp:get_meta(Pkt, imlogger_signin, false) of
        false -> Acc;
        true when St == waiting, length(Direct) < ?MAX_INCOMING -> {stop, {drop, State#{imlogger_gate => Gate#{direct => [Pkt | Direct]}}}};
        true -> {stop, {drop, State}}
    end;
filter_send(Acc) -> Acc.

%% XEP-0198: the process that resumed the session keeps its gate; the timers and the pending request follow it.
copy_session(State, #{imlogger_gate := #{state := waiting} = Gate}) ->
    #{lserver := Host} = State,
    ?INFO_MSG("Session ~ts resumed (XEP-0198) while its client is not judged yet: still kept apart", [maps:get(full, Gate)]),
    case Gate of #{check := Id} -> ets:insert(?TABLE, {Id, self(), Host}); _ -> ok end,
    #{query := Query} = Gate,
    case Gate of
        #{query_sent := false} -> self() ! {imlogger_signin, ask_client};
        #{answer := undefined} -> erlang:send_after(opt(Host, client_timeout) * 1000, self(), {imlogger_signin, {client_timeout, Query}});
        _ -> ok
    end,
    case Gate of
        #{asked := true, deadline := Deadline} ->
            erlang:send_after(max(0, Deadline - now_ms()), self(), {imlogger_signin, {deadline, Query}}),
            self() ! {imlogger_signin, retry};
        _ -> ok
    end,
    State#{imlogger_gate => Gate};
copy_session(State, _OldState) -> State.

%% After ejabberd_c2s has closed the session (priority 100): what waited for it is routed again, to the user's other
%% sessions or offline storage (held and archived as usual). Not when it was resumed elsewhere: the new process has it.
terminated(#{imlogger_gate := Gate} = State, _Reason) ->
    case Gate of #{check := Id} -> ets:delete(?TABLE, Id); _ -> ok end,
    case maps:get(mgmt_state, State, undefined) of
        resumed -> ok;
        _ -> lists:foreach(fun ejabberd_router:route/1, lists:reverse(maps:get(incoming, Gate)))
    end,
    State;
terminated(State, _Reason) -> State.

%% ImLogger's answer to a client-check (from the component to the host, taken by mod_imlogger_inline:filter_packet).
verdict(Id, IQ) ->
    case ets:take(?TABLE, Id) of
        [{_, Pid, _Host}] -> Pid ! {imlogger_signin, {verdict, Id, IQ}};
        [] -> ok % the session is gone, or was judged already
    end,
    {stop, drop}.

%% The component connected (again): a check sent to the ImLogger that went away (killed, restarted) will never be
%% answered, so every session of the host still waiting asks the new one now instead of waiting for its deadline.
component_back(Host) ->
    case ets:whereis(?TABLE) of
        undefined -> ok;
        _ -> lists:foreach(fun({_Id, Pid, _Host}) -> Pid ! {imlogger_signin, retry} end, ets:match_object(?TABLE, {'_', '_', Host}))
    end.

%%%===================================================================
%%% The check
%%%===================================================================
check(#{asked := true} = Gate) -> Gate;
check(Gate) ->
    self() ! {imlogger_signin, check},
    Gate#{asked => true}.

handle(ask_client, #{imlogger_gate := #{state := waiting, query_sent := false, query := Query} = Gate,
                     jid := JID, lserver := Host} = State) ->
    IQ = #iq{type = get, id = Query, from = jid:make(Host), to = JID,
             sub_els = [#xmlel{name = <<"query">>, attrs = [{<<"xmlns">>, <<"jabber:iq:version">>}]}]},
    State1 = ejabberd_c2s:send(State#{imlogger_gate => Gate#{query_sent => true}}, xmpp:put_meta(IQ, imlogger_signin, true)),
    erlang:send_after(opt(Host, client_timeout) * 1000, self(), {imlogger_signin, {client_timeout, Query}}),
    ?DEBUG("Asked the client of ~ts its version; the session waits for ImLogger's judgement", [maps:get(full, Gate)]),
    State1;
handle({client_timeout, Query}, #{imlogger_gate := #{state := waiting, query := Query, answer := undefined} = Gate} = State) ->
    State#{imlogger_gate => check(Gate#{answer => <<"none">>})};
handle(check, #{imlogger_gate := #{state := waiting, query := Query} = Gate, lserver := Host} = State) ->
    Timeout = opt(Host, timeout) * 1000,
    erlang:send_after(Timeout, self(), {imlogger_signin, {deadline, Query}}),
    send_check(State#{imlogger_gate => Gate#{deadline => now_ms() + Timeout}});
handle(retry, #{imlogger_gate := #{state := waiting, deadline := _}} = State) ->
    send_check(State);
handle({deadline, Query}, #{imlogger_gate := #{state := waiting, query := Query}} = State) ->
    fail(<<"no answer in time">>, State);
handle({verdict, Id, IQ}, #{imlogger_gate := #{state := waiting, check := Id} = Gate} = State) ->
    State1 = State#{imlogger_gate => maps:remove(check, Gate)},
    case IQ of
        #iq{type = error} ->
            {Type, Cond} = case xmpp:get_error(IQ) of
                               #stanza_error{type = T, reason = R} -> {T, R};
                               _ -> {cancel, 'undefined-condition'}
                           end,
            retry_or_fail(Type == wait orelse lists:member(Cond, ?AWAY), cond_name(Cond), State1);
        #iq{type = result, sub_els = SubEls} ->
            Verdict = [V || #xmlel{name = <<"client-verdict">>} = V <- SubEls, fxml:get_tag_attr_s(<<"xmlns">>, V) == ?NS],
            case Verdict of
                [V | _] ->
                    case fxml:get_tag_attr_s(<<"allow">>, V) of
                        <<"true">> -> admit(<<"ImLogger approved it">>, State1);
                        _ ->
                            Text = case fxml:get_subtag_cdata(V, <<"text">>) of <<"">> -> ?UNREACHABLE; T -> T end,
                            refuse(Text, <<"ImLogger refused it: ", (maps:get(answer, Gate))/binary>>, State1)
                    end;
                [] -> refuse(?UNREACHABLE, <<"ImLogger's answer holds no client-verdict">>, State1)
            end;
        _ -> State
    end;
handle(_Stale, State) -> State. % a timer or an answer for a session judged already

%% Sends the client-check to ImLogger, or waits for it while it is away (a restart), until the deadline.
send_check(#{imlogger_gate := #{state := waiting, user := User, full := Full, answer := Answer} = Gate, lserver := Host} = State) ->
    %% Scaled out: the instance owning the user's conversation with the host (mod_imlogger_lanes:judge/2), asked again at
    %% each retry (fail-open moves to the next one up while it is away).
    Component = mod_imlogger_lanes:judge(Host, User),
    case ejabberd_router:is_my_route(Component) of
        false -> retry_or_fail(true, <<Component/binary, " is not connected">>, State#{imlogger_gate => Gate#{judge => Component}});
        true ->
            case Gate of #{check := Old} -> ets:delete(?TABLE, Old); _ -> ok end,
            Id = <<"imlogger-client-", (p1_rand:get_string())/binary>>,
            ets:insert(?TABLE, {Id, self(), Host}),
            Size = case Gate of #{size := S} -> [{<<"size">>, integer_to_binary(S)}]; _ -> [] end,
            Children = [E || E <- [maps:get(reply, Gate, undefined), maps:get(caps, Gate, undefined)], E /= undefined],
            Check = #xmlel{name = <<"client-check">>,
                           attrs = [{<<"xmlns">>, ?NS}, {<<"user">>, User}, {<<"session">>, Full}, {<<"answer">>, Answer}] ++ Size,
                           children = Children},
            ejabberd_router:route(jid:make(Host), jid:make(Component),
                                  #xmlel{name = <<"iq">>,
                                         attrs = [{<<"type">>, <<"set">>}, {<<"id">>, Id}, {<<"from">>, Host}, {<<"to">>, Component}],
                                         children = [Check]}),
            State#{imlogger_gate => Gate#{check => Id, judge => Component}}
    end;
send_check(State) -> State.

retry_or_fail(Away, Reason, #{imlogger_gate := #{deadline := Deadline}} = State) ->
    case Away andalso now_ms() + ?RETRY_MS < Deadline of
        true ->
            erlang:send_after(?RETRY_MS, self(), {imlogger_signin, retry}),
            State;
        false -> fail(Reason, State)
    end.

fail(Reason, #{imlogger_gate := #{full := Full} = Gate, lserver := Host} = State) ->
    case Gate of #{check := Id} -> ets:delete(?TABLE, Id); _ -> ok end,
    case opt(Host, failure_mode) of
        open ->
            ?WARNING_MSG("ImLogger could not judge the client of ~ts (~ts): admitted unchecked (fail-open)", [Full, Reason]),
            admit(<<"fail-open, ImLogger unreachable">>, State);
        closed ->
            refuse(?UNREACHABLE, <<"ImLogger did not judge it: ", Reason/binary>>, State)
    end.

cond_name(C) when is_atom(C) -> atom_to_binary(C, utf8);
cond_name(_) -> <<"error">>.

%% Opens the gate: what the session sent, then what was sent to it, go their usual way (held, archived, routed).
admit(Why, #{imlogger_gate := #{full := Full, out := Out, direct := Direct, incoming := In}, lserver := Host} = State) ->
    ?INFO_MSG("Client of ~ts admitted (~ts): releasing ~B stanza(s) it sent and ~B for it",
              [Full, Why, length(Out), length(Direct) + length(In)]),
    State1 = maps:remove(imlogger_gate, State),
    State2 = lists:foldl(fun replay_out/2, State1, lists:reverse(Out)),
    State3 = lists:foldl(fun(Pkt, S) -> ejabberd_c2s:send(S, Pkt) end, State2, lists:reverse(Direct)),
    lists:foldl(fun(Pkt, S) -> ejabberd_hooks:run_fold(c2s_handle_info, Host, S, [{route, Pkt}]) end,
                State3, lists:reverse(In)).

%% As if the client had just sent it (the inline hold comes next); stream management counted it once already.
replay_out(Pkt, State) ->
    State1 = ejabberd_c2s:handle_authenticated_packet(Pkt, State),
    case maps:find(mgmt_stanzas_in, State) of
        {ok, N} when is_map(State1) -> State1#{mgmt_stanzas_in => N};
        _ -> State1
    end.

%% Closes the session with ImLogger's text: one message, then the stream error. The gate stays shut until the session
%% is gone (terminated/2 then routes again what was sent to it).
refuse(Text, Why, #{imlogger_gate := #{full := Full} = Gate, jid := JID, lserver := Host} = State) ->
    ?WARNING_MSG("Closing ~ts (~ts): ~ts", [Full, Why, Text]),
    Notice = #message{from = jid:make(maps:get(judge, Gate, opt(Host, component))), to = JID, type = chat,
                      id = <<"imlogger-client-", (p1_rand:get_string())/binary>>, body = xmpp:mk_text(Text)},
    State1 = State#{imlogger_gate => Gate#{state => closing, out => [], direct => []}},
    State2 = ejabberd_c2s:send(State1, xmpp:put_meta(Notice, imlogger_signin, true)),
    xmpp_stream_in:send(State2, xmpp:serr_policy_violation(Text, <<"en">>)).
