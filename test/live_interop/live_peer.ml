(* The OCaml side of the live interop test (run_live_interop.py): the real OCamlnet
   Netshm working on a table at the same time as netshm's processes (live_peer.c, which
   takes the same arguments and prints the same lines).

   Usage: live_peer_ocaml COMMAND KIND NAME LOCKFILE ARG...
     KIND NAME LOCKFILE   file PATH -  |  posix /SHM LOCKFILE (OCamlnet 4.1.9's
                          `POSIX (lock_file, shm_name)`)
     init  KEYS PAGESIZE INIT   create the table (init hint INIT) and bind the counters
                                0..KEYS-1 to the value of count 0
     count ID KEYS N EVERY      after the start handshake, N increments of counter
                                (5i + 3 ID) mod KEYS, each `group { find; replace }`,
                                retried on Deadlock; every EVERY-th one also adds the key
                                1000000 + 100000 ID + i bound to [| ID; i |]
     write ID KEYS MILLIS       after the handshake, replaces the keys round-robin with
                                self-checking patterns (below) for MILLIS ms; every
                                GROW_EVERY-th write also adds the key 1000000 + 100000 ID +
                                seq / GROW_EVERY bound to the same pattern (the object grows)
     read  ID KEYS MILLIS       after the handshake, reads the keys for MILLIS ms and checks
                                every value; prints how many values of each writer it saw
     dump                       Netshm.dump, then every binding sorted by key (readback)
     unlink                     Netshm.unlink_shm
   Handshake: prints "ready" once the table is managed, then waits for a line "go".
   Every process ends itself after 60 s (alarm). Exit status: 0 success, 3 a wrong value
   or an unexpected exception (described on stderr). *)

let fail fmt = Printf.ksprintf (fun s -> prerr_endline ("live_peer_ocaml: " ^ s); exit 3) fmt

(* A counter of count n is bound to 1 + n mod 97 words, all equal to n. *)
let counter_length n = 1 + (n mod 97)

(* A pattern word w = ID lsl 24 lor seq is written as 1 + w mod 300 words, all equal to w. *)
let pattern_length w = 1 + (w mod 300)

let grow_every = 16

let array_filled len w =
  let a = Bigarray.Array1.create Bigarray.int32 Bigarray.c_layout len in
  Bigarray.Array1.fill a (Int32.of_int w);
  a

(* The value's common word, or a failure naming the key and what is wrong. *)
let uniform_word what key (v : Netshm.int32_array) expected_length =
  let n = Bigarray.Array1.dim v in
  if n = 0 then fail "%s: key %d: empty value" what key;
  let w = Int32.to_int v.{0} in
  for i = 1 to n - 1 do
    if v.{i} <> v.{0} then
      fail "%s: key %d: torn value of %d words: word 0 = %ld, word %d = %ld" what key n
        v.{0} i v.{i}
  done;
  if n <> expected_length w then
    fail "%s: key %d: value %d has %d words, expected %d" what key w n (expected_length w);
  w

let shm_name kind name lockfile =
  match kind with
  | "file" -> `File name
  | "posix" -> `POSIX (lockfile, name)
  | _ -> fail "unknown kind %s" kind

let open_table ?pagesize ?init name =
  let sd = Netshm.open_shm name [ Unix.O_RDWR; Unix.O_CREAT ] 0o600 in
  (sd, Netshm.manage ?pagesize ?init `Record_locking sd)

let handshake () =
  print_endline "ready";
  match read_line () with
  | "go" -> ()
  | line -> fail "expected go, read %S" line

let milliseconds () = Unix.gettimeofday () *. 1000.

let init name keys pagesize hint =
  let sd, t = open_table ~pagesize ~init:hint name in
  for k = 0 to keys - 1 do
    Netshm.replace t (Int32.of_int k) (array_filled (counter_length 0) 0)
  done;
  Netshm.close_shm sd;
  print_endline "ok"

let count name id keys n every =
  let sd, t = open_table name in
  handshake ();
  let deadlocks = ref 0 in
  for i = 0 to n - 1 do
    let key = ((5 * i) + (3 * id)) mod keys in
    let modified = ref false in
    let increment () =
      let v = Netshm.find t (Int32.of_int key) in
      let c = uniform_word "count" key v counter_length in
      Netshm.replace t (Int32.of_int key) (array_filled (counter_length (c + 1)) (c + 1));
      modified := true;
      if every > 0 && i mod every = 0 then begin
        let a = Bigarray.Array1.of_array Bigarray.int32 Bigarray.c_layout
                  [| Int32.of_int id; Int32.of_int i |] in
        Netshm.add t (Int32.of_int (1_000_000 + (100_000 * id) + i)) a
      end
    in
    let rec attempt () =
      match Netshm.group t increment () with
      | () -> ()
      | exception Netshm.Deadlock ->
          if !modified then fail "count: Deadlock after the group modified the table (i = %d)" i;
          incr deadlocks;
          attempt ()
    in
    attempt ()
  done;
  Netshm.close_shm sd;
  Printf.printf "done id=%d groups=%d deadlocks=%d\n" id n !deadlocks

let write name id keys millis =
  let sd, t = open_table name in
  handshake ();
  let stop = milliseconds () +. float_of_int millis in
  let seq = ref 0 in
  while milliseconds () < stop do
    incr seq;
    let key = !seq mod keys in
    let w = (id lsl 24) lor (!seq land 0xFFFFFF) in
    let v = array_filled (pattern_length w) w in
    (* Every third write is a group { remove; add }: readers must never see it half-done. *)
    if !seq mod 3 = 0 then
      Netshm.group t (fun () -> Netshm.remove t (Int32.of_int key); Netshm.add t (Int32.of_int key) v) ()
    else Netshm.replace t (Int32.of_int key) v;
    if !seq mod grow_every = 0 then
      Netshm.add t (Int32.of_int (1_000_000 + (100_000 * id) + (!seq / grow_every))) v
  done;
  Netshm.close_shm sd;
  Printf.printf "done id=%d writes=%d\n" id !seq

let read name id keys millis =
  let sd, t = open_table name in
  handshake ();
  let stop = milliseconds () +. float_of_int millis in
  let seen = Hashtbl.create 8 in
  let note key v =
    let w = uniform_word "read" key v pattern_length in
    let writer = w lsr 24 in
    Hashtbl.replace seen writer (1 + try Hashtbl.find seen writer with Not_found -> 0)
  in
  let reads = ref 0 in
  while milliseconds () < stop do
    incr reads;
    if !reads mod 50 = 0 then begin
      let bound = ref 0 in
      Netshm.iter (fun k v -> incr bound; note (Int32.to_int k) v) t;
      if !bound < keys then fail "read: iter saw %d bindings, expected at least %d" !bound keys
    end
    else begin
      let key = !reads mod keys in
      match Netshm.find t (Int32.of_int key) with
      | v -> note key v
      | exception Not_found -> fail "read: key %d unbound" key
    end
  done;
  Netshm.close_shm sd;
  let writers = List.sort compare (Hashtbl.fold (fun w n acc -> (w, n) :: acc) seen []) in
  Printf.printf "done id=%d reads=%d seen=%s\n" id !reads
    (String.concat "," (List.map (fun (w, n) -> Printf.sprintf "%d:%d" w n) writers))

let dump name =
  let sd = Netshm.open_shm name [ Unix.O_RDWR ] 0 in
  let t = Netshm.manage `Record_locking sd in
  Netshm.dump t;
  let bindings = ref [] in
  Netshm.iter (fun k v -> bindings := (k, v) :: !bindings) t;
  (* iter gives a key's bindings newest first: keep that order within a key *)
  let sorted = List.stable_sort (fun (a, _) (b, _) -> compare a b) (List.rev !bindings) in
  Printf.printf "readback length=%d\n" (Netshm.length t);
  List.iter
    (fun (k, (v : Netshm.int32_array)) ->
      let n = Bigarray.Array1.dim v in
      let b = Buffer.create (16 + (n * 4)) in
      Buffer.add_string b (Printf.sprintf "%ld [%d]" k n);
      for i = 0 to n - 1 do
        Buffer.add_string b (Printf.sprintf " %ld" v.{i})
      done;
      print_endline (Buffer.contents b))
    sorted;
  Netshm.close_shm sd

let () =
  ignore (Unix.alarm 60);
  let args = Array.to_list Sys.argv in
  let int s = match int_of_string_opt s with Some n -> n | None -> fail "not a number: %s" s in
  try
    match List.tl args with
    | [ "init"; kind; name; lock; keys; pagesize; hint ] ->
        init (shm_name kind name lock) (int keys) (int pagesize) (int hint)
    | [ "count"; kind; name; lock; id; keys; n; every ] ->
        count (shm_name kind name lock) (int id) (int keys) (int n) (int every)
    | [ "write"; kind; name; lock; id; keys; millis ] ->
        write (shm_name kind name lock) (int id) (int keys) (int millis)
    | [ "read"; kind; name; lock; id; keys; millis ] ->
        read (shm_name kind name lock) (int id) (int keys) (int millis)
    | [ "dump"; kind; name; lock ] -> dump (shm_name kind name lock)
    | [ "unlink"; kind; name; lock ] -> Netshm.unlink_shm (shm_name kind name lock)
    | _ -> fail "usage: live_peer_ocaml COMMAND KIND NAME LOCKFILE ARG... (see the source)"
  with
  | Netshm.Corrupt_file msg -> fail "Corrupt_file %s" msg
  | Netshm.Deadlock -> fail "Deadlock outside a retried group"
  | Unix.Unix_error (e, f, a) -> fail "%s(%s): %s" f a (Unix.error_message e)
  | Failure msg -> fail "Failure %s" msg
