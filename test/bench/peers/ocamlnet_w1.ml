(* W1 on OCamlnet's Netshm: a `File table in /dev/shm (the same kind of object
   as netshm_w1's; with OCamlnet 4.1.9 a `File locks the file itself), page
   size 256, with `Record_locking (--variant record) or `No_locking (--variant
   none).  The workload, the value pattern, the checks and the output are those
   of test/bench/bench_common.hpp and w1_driver.hpp: change them together.

   ocamlnet_w1 [--variant record|none] [--n N] [--mp-ops N] [--dir DIR] *)

external monotonic_seconds : unit -> float = "bench_monotonic_seconds"
external allocated_bytes : string -> float = "bench_allocated_bytes"

exception Check_failed of string

let fail fmt = Printf.ksprintf (fun s -> raise (Check_failed s)) fmt

let w1_seed = 2463534242
let shuffle_seed = 88675123
let mp_seed = 521288629
let value_words = 4
let max_generation = 1 lsl 24

(* xorshift32 on native ints, as bench::xorshift32 *)
let xorshift32 seed =
  let state = ref seed in
  fun () ->
    let x = !state in
    let x = x lxor ((x lsl 13) land 0xFFFF_FFFF) in
    let x = x lxor (x lsr 17) in
    let x = x lxor ((x lsl 5) land 0xFFFF_FFFF) in
    state := x;
    x

(* word i of generation g of key's value: k + i * (1 + g), 32-bit wrap *)
let word key i g = Int32.add key (Int32.of_int (i * (1 + g)))

let fill_value buf key g =
  for i = 0 to value_words - 1 do
    buf.{i} <- word key i g
  done

let generation_of key (v : Netshm.int32_array) =
  if Bigarray.Array1.dim v <> value_words || not (Int32.equal v.{0} key) then -1
  else
    let g = Int32.to_int (Int32.sub (Int32.sub v.{1} key) 1l) land 0xFFFF_FFFF in
    if g > max_generation then -1
    else if Int32.equal v.{2} (word key 2 g) && Int32.equal v.{3} (word key 3 g) then g
    else -1

let value_sum (v : Netshm.int32_array) =
  Int32.to_int v.{0} + Int32.to_int v.{1} + Int32.to_int v.{2} + Int32.to_int v.{3}

type workload = { keys : int32 array; order : int32 array; misses : int32 array }

let make_workload n =
  let next = xorshift32 w1_seed in
  let keys = Array.init n (fun _ -> Int32.of_int (next ())) in
  let misses = Array.init n (fun _ -> Int32.of_int (next ())) in
  let order = Array.copy keys in
  let shuffle = xorshift32 shuffle_seed in
  for i = n downto 2 do
    let j = shuffle () mod i in
    let t = order.(i - 1) in
    order.(i - 1) <- order.(j);
    order.(j) <- t
  done;
  { keys; order; misses }

type config = { variant : string; n : int; mp_ops : int; path : string }

let json_head c phase =
  Printf.sprintf "{\"system\": \"ocamlnet\", \"variant\": \"%s\", \"phase\": \"%s\"" c.variant phase

let report c phase ops seconds =
  Printf.printf "%s, \"ops\": %d, \"seconds\": %.9g, \"ops_per_s\": %.9g}\n%!" (json_head c phase) ops seconds
    (float ops /. seconds)

let locking c = if c.variant = "none" then `No_locking else `Record_locking

let open_table c flags =
  let descr = Netshm.open_shm (`File c.path) flags 0o600 in
  (descr, Netshm.manage (locking c) descr)

let timed c phase ops f =
  let t0 = monotonic_seconds () in
  let r = f () in
  report c phase ops (monotonic_seconds () -. t0);
  r

let expected_sum w g =
  let buf = Bigarray.Array1.create Bigarray.int32 Bigarray.c_layout value_words in
  Array.fold_left (fun acc k -> fill_value buf k g; acc + value_sum buf) 0 w.keys

let check_length table expected phase =
  if Netshm.length table <> expected then fail "%s: length %d, expected %d" phase (Netshm.length table) expected

let find_hit c w table =
  let sum = ref 0 and missing = ref 0 in
  timed c "find_hit" c.n (fun () ->
      Array.iter
        (fun k -> match Netshm.find table k with v -> sum := !sum + value_sum v | exception Not_found -> incr missing)
        w.order);
  if !missing > 0 || !sum <> expected_sum w 0 then fail "find_hit: %d keys not found or a wrong sum" !missing

let find_miss c w table =
  let found = ref 0 in
  timed c "find_miss" c.n (fun () ->
      Array.iter (fun k -> match Netshm.find table k with _ -> incr found | exception Not_found -> ()) w.misses);
  if !found > 0 then fail "find_miss: %d absent keys found" !found

(* Workers: each opens the table itself, says it is ready and waits for the
   start; each reports "ok SECONDS" or "error TEXT" through its own pipe. *)
let run_workers count body =
  let ready_r, ready_w = Unix.pipe () in
  let go_r, go_w = Unix.pipe () in
  let spawn i =
    let result_r, result_w = Unix.pipe () in
    flush_all ();
    match Unix.fork () with
    | 0 ->
        Unix.close ready_r;
        Unix.close go_w;
        Unix.close result_r;
        ignore (Unix.alarm 600);
        let start () =
          ignore (Unix.write_substring ready_w "r" 0 1);
          Unix.close ready_w;
          ignore (Unix.read go_r (Bytes.create 1) 0 1);
          monotonic_seconds ()
        in
        let answer =
          try Printf.sprintf "ok %.9f\n" (body i start) with e -> "error " ^ Printexc.to_string e ^ "\n"
        in
        ignore (Unix.write_substring result_w answer 0 (String.length answer));
        Unix._exit 0
    | pid ->
        Unix.close result_w;
        (pid, result_r)
  in
  let workers = List.init count spawn in
  Unix.close ready_w;
  Unix.close go_r;
  let byte = Bytes.create 1 in
  (try
     for _ = 1 to count do
       if Unix.read ready_r byte 0 1 = 0 then raise Exit
     done
   with Exit -> ());
  Unix.close go_w;
  Unix.close ready_r;
  List.map
    (fun (pid, result_r) ->
      let ic = Unix.in_channel_of_descr result_r in
      let line = try input_line ic with End_of_file -> "error the worker died" in
      close_in ic;
      ignore (Unix.waitpid [] pid);
      match String.split_on_char ' ' line with
      | [ "ok"; seconds ] -> float_of_string seconds
      | _ -> fail "mp_mixed worker: %s" line)
    workers

let mp_mixed c w table =
  if c.variant = "none" then
    Printf.printf "%s, \"skipped\": \"No_locking does not protect concurrent writers\"}\n%!" (json_head c "mp_mixed")
  else begin
    let live = Array.sub w.keys (c.n / 2) (c.n - (c.n / 2)) in
    let body i start =
      let _descr, mine = open_table c [ Unix.O_RDWR ] in
      let rng = xorshift32 (mp_seed + i) in
      let buf = Bigarray.Array1.create Bigarray.int32 Bigarray.c_layout value_words in
      let t0 = start () in
      for op = 0 to c.mp_ops - 1 do
        let writes = rng () mod 10 = 0 in
        let key = live.(rng () mod Array.length live) in
        if writes then begin
          fill_value buf key (2 + i + (2 * op));
          Netshm.replace mine key buf
        end
        else
          match Netshm.find mine key with
          | v -> if generation_of key v < 0 then fail "mp_mixed: the value of key %ld is torn" key
          | exception Not_found -> fail "mp_mixed: key %ld not found" key
      done;
      monotonic_seconds () -. t0
    in
    let seconds = run_workers 2 body in
    report c "mp_mixed" (2 * c.mp_ops) (List.fold_left max 0.0 seconds);
    let wrong = ref 0 in
    Netshm.iter (fun k v -> if generation_of k v < 1 then incr wrong) table;
    if !wrong > 0 then fail "mp_mixed: %d malformed values afterwards" !wrong;
    check_length table (Array.length live) "mp_mixed"
  end

let run c =
  let w = make_workload c.n in
  let _descr, table = open_table c [ Unix.O_RDWR; Unix.O_CREAT; Unix.O_EXCL ] in
  let buf = Bigarray.Array1.create Bigarray.int32 Bigarray.c_layout value_words in
  timed c "load" c.n (fun () ->
      Array.iter (fun k -> fill_value buf k 0; Netshm.add table k buf) w.keys);
  check_length table c.n "load";
  let bytes = allocated_bytes c.path in
  Printf.printf "%s, \"bindings\": %d, \"shm_bytes\": %.0f, \"file_bytes\": %d, \"bytes_per_binding\": %.9g}\n%!"
    (json_head c "memory") c.n bytes (Unix.stat c.path).Unix.st_size (bytes /. float c.n);
  find_hit c w table;
  find_miss c w table;
  timed c "replace" c.n (fun () ->
      Array.iter (fun k -> fill_value buf k 1; Netshm.replace table k buf) w.order);
  check_length table c.n "replace";
  let count = ref 0 and key_sum = ref 0 and wrong = ref 0 in
  timed c "iter" c.n (fun () ->
      Netshm.iter
        (fun k v ->
          incr count;
          key_sum := !key_sum + Int32.to_int k;
          if generation_of k v <> 1 then incr wrong)
        table);
  let expected_keys = Array.fold_left (fun acc k -> acc + Int32.to_int k) 0 w.keys in
  if !count <> c.n || !key_sum <> expected_keys || !wrong > 0 then
    fail "iter: %d bindings, %d values not the replaced ones, or the wrong keys" !count !wrong;
  let half = c.n / 2 in
  timed c "remove" half (fun () ->
      for i = 0 to half - 1 do
        Netshm.remove table w.keys.(i)
      done);
  check_length table (c.n - half) "remove";
  Array.iteri
    (fun i k -> if Netshm.mem table k <> (i >= half) then fail "remove: key %ld bound or unbound wrongly" k)
    w.keys;
  mp_mixed c w table

let () =
  let variant = ref "record" and n = ref 100_000 and mp_ops = ref 200_000 and dir = ref "/dev/shm" in
  Arg.parse
    [
      ("--variant", Arg.Symbol ([ "record"; "none" ], fun v -> variant := v), " locking: Record_locking or No_locking");
      ("--n", Arg.Set_int n, "N keys (100000)");
      ("--mp-ops", Arg.Set_int mp_ops, "N operations per mp_mixed process (200000)");
      ("--dir", Arg.Set_string dir, "DIR of the table file (/dev/shm)");
    ]
    (fun a -> raise (Arg.Bad ("unexpected argument " ^ a)))
    "ocamlnet_w1: the W1 benchmark on OCamlnet's Netshm";
  if !n < 2 || !mp_ops < 1 then (prerr_endline "ocamlnet_w1: n < 2 or mp-ops < 1"; exit 2);
  let path = Printf.sprintf "%s/bench-ocamlnet-%s-%d" !dir !variant (Unix.getpid ()) in
  let c = { variant = !variant; n = !n; mp_ops = !mp_ops; path } in
  let status =
    try run c; 0 with
    | Check_failed s ->
        Printf.eprintf "ocamlnet %s: FAILED: %s\n%!" c.variant s;
        1
    | e ->
        Printf.eprintf "ocamlnet %s: FAILED: %s\n%!" c.variant (Printexc.to_string e);
        1
  in
  (try Unix.unlink path with Unix.Unix_error _ -> ());
  exit status
