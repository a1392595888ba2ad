// The list commands through a real socket and ioredis (test/unit/resp/
// commands-lists.test.ts runs the handlers in-process; blocking.test.ts here
// covers clients that really wait): one table of requests and the replies
// recorded from redis-server 7.0.15, replayed group by group on an empty
// database. silt reports redis_version 7.2.0 and follows 7.2 where the two
// differ; those rows say what 7.0.15 answers.
//
// Then what a table of strings cannot say: binary-safe keys and elements
// (Buffers with \0, 0xff, CR LF), lists long enough that a trim or removal
// only moves head and tail (more than 1024 elements), expiry of a whole list,
// and blocking commands that must not wait (inside MULTI).

import { describe, expect, it } from 'vitest';
import { waitFor } from './harness.js';
import { describeReplyTable, freshClient, near, useServer, type Step } from './reply-tables.js';

const table: Record<string, Step[]> = {
  "LPUSH RPUSH LPUSHX RPUSHX": [
    [["LPUSH","l","a","b","c"], 3],
    [["LRANGE","l","0","-1"], ["c","b","a"]],
    [["RPUSH","l","d","e"], 5],
    [["LRANGE","l","0","-1"], ["c","b","a","d","e"]],
    [["LPUSHX","l","x","y"], 7],
    [["RPUSHX","l","z"], 8],
    [["LRANGE","l","0","-1"], ["y","x","c","b","a","d","e","z"]],
    [["LLEN","l"], 8],
    [["LPUSHX","none","x"], 0],
    [["RPUSHX","none","x"], 0],
    [["EXISTS","none"], 0],
    [["RPUSH","d","a","a","a"], 3],
    [["LRANGE","d","0","-1"], ["a","a","a"]],
    [["RPUSH","e",""], 1],
    [["LRANGE","e","0","-1"], [""]],
    [["LLEN","e"], 1],
    [["SET","s","v"], "OK"],
    [["LPUSH","s","x"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["RPUSH","s","x"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["LPUSHX","s","x"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["RPUSHX","s","x"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["GET","s"], "v"],
    [["LPUSH","l"], {"error":"ERR wrong number of arguments for 'lpush' command"}],
    [["RPUSH","l"], {"error":"ERR wrong number of arguments for 'rpush' command"}],
    [["LPUSHX","l"], {"error":"ERR wrong number of arguments for 'lpushx' command"}],
    [["RPUSHX","l"], {"error":"ERR wrong number of arguments for 'rpushx' command"}],
    [["LPUSH"], {"error":"ERR wrong number of arguments for 'lpush' command"}],
  ],
  "LPOP RPOP with and without a count": [
    [["RPUSH","p","a","b","c","d","e","f"], 6],
    [["LPOP","p"], "a"],
    [["RPOP","p"], "f"],
    [["LPOP","p","2"], ["b","c"]],
    [["RPOP","p","1"], ["e"]],
    [["LPOP","p","0"], []],
    [["RPOP","p","0"], []],
    [["LRANGE","p","0","-1"], ["d"]],
    [["LPOP","p","-1"], {"error":"ERR value is out of range, must be positive"}],
    [["RPOP","p","-1"], {"error":"ERR value is out of range, must be positive"}],
    [["LPOP","p","x"], {"error":"ERR value is out of range, must be positive"}],
    [["LPOP","p","1.5"], {"error":"ERR value is out of range, must be positive"}],
    [["RPOP","p","10"], ["d"]],
    [["EXISTS","p"], 0],
    [["LPOP","p"], null],
    [["RPOP","p"], null],
    [["LPOP","p","1"], null],
    [["RPOP","p","2"], null],
    [["LPOP","p","0"], null],
    [["LPOP","p","-1"], {"error":"ERR value is out of range, must be positive"}],
    [["SET","s","v"], "OK"],
    [["LPOP","s"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["RPOP","s","1"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["LPOP","p","1","2"], {"error":"ERR wrong number of arguments for 'lpop' command"}],
    [["RPOP"], {"error":"ERR wrong number of arguments for 'rpop' command"}],
  ],
  "LLEN LINDEX": [
    [["RPUSH","l","a","b","c"], 3],
    [["LLEN","l"], 3],
    [["LLEN","none"], 0],
    [["LINDEX","l","0"], "a"],
    [["LINDEX","l","2"], "c"],
    [["LINDEX","l","-1"], "c"],
    [["LINDEX","l","-3"], "a"],
    [["LINDEX","l","3"], null],
    [["LINDEX","l","-4"], null],
    [["LINDEX","l","9223372036854775807"], null],
    [["LINDEX","l","-9223372036854775808"], null],
    [["LINDEX","none","0"], null],
    [["LINDEX","l","x"], {"error":"ERR value is not an integer or out of range"}],
    [["LINDEX","none","x"], null],
    [["LINDEX","l","9223372036854775808"], {"error":"ERR value is not an integer or out of range"}],
    [["SET","s","v"], "OK"],
    [["LLEN","s"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["LINDEX","s","0"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["LINDEX","s","x"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["LLEN"], {"error":"ERR wrong number of arguments for 'llen' command"}],
    [["LLEN","l","l"], {"error":"ERR wrong number of arguments for 'llen' command"}],
    [["LINDEX","l"], {"error":"ERR wrong number of arguments for 'lindex' command"}],
    [["LINDEX","l","0","0"], {"error":"ERR wrong number of arguments for 'lindex' command"}],
  ],
  "LSET": [
    [["RPUSH","l","a","b","c"], 3],
    [["LSET","l","0","x"], "OK"],
    [["LSET","l","-1","z"], "OK"],
    [["LSET","l","1","y"], "OK"],
    [["LRANGE","l","0","-1"], ["x","y","z"]],
    [["LSET","l","3","v"], {"error":"ERR index out of range"}],
    [["LSET","l","-4","v"], {"error":"ERR index out of range"}],
    [["LSET","l","9223372036854775807","v"], {"error":"ERR index out of range"}],
    [["LSET","none","0","v"], {"error":"ERR no such key"}],
    [["LSET","none","x","v"], {"error":"ERR no such key"}],
    [["EXISTS","none"], 0],
    [["LSET","l","x","v"], {"error":"ERR value is not an integer or out of range"}],
    [["LSET","l","1.0","v"], {"error":"ERR value is not an integer or out of range"}],
    [["SET","s","v"], "OK"],
    [["LSET","s","0","v"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["LSET","l","0"], {"error":"ERR wrong number of arguments for 'lset' command"}],
    [["LRANGE","l","0","-1"], ["x","y","z"]],
  ],
  "LRANGE": [
    [["RPUSH","l","a","b","c","d","e"], 5],
    [["LRANGE","l","0","-1"], ["a","b","c","d","e"]],
    [["LRANGE","l","0","0"], ["a"]],
    [["LRANGE","l","1","3"], ["b","c","d"]],
    [["LRANGE","l","-2","-1"], ["d","e"]],
    [["LRANGE","l","-100","100"], ["a","b","c","d","e"]],
    [["LRANGE","l","3","1"], []],
    [["LRANGE","l","-1","-2"], []],
    [["LRANGE","l","5","10"], []],
    [["LRANGE","l","-100","-6"], []],
    [["LRANGE","l","-100","-5"], ["a"]],
    [["LRANGE","l","4","100"], ["e"]],
    [["LRANGE","l","0","-6"], []],
    [["LRANGE","l","-9223372036854775808","9223372036854775807"], ["a","b","c","d","e"]],
    [["LRANGE","none","0","-1"], []],
    [["LRANGE","l","x","1"], {"error":"ERR value is not an integer or out of range"}],
    [["LRANGE","l","0","y"], {"error":"ERR value is not an integer or out of range"}],
    [["LRANGE","none","x","1"], {"error":"ERR value is not an integer or out of range"}],
    [["SET","s","v"], "OK"],
    [["LRANGE","s","0","-1"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["LRANGE","s","x","1"], {"error":"ERR value is not an integer or out of range"}],
    [["LRANGE","l","0"], {"error":"ERR wrong number of arguments for 'lrange' command"}],
  ],
  "LTRIM": [
    [["RPUSH","t","a","b","c","d","e"], 5],
    [["LTRIM","t","1","-2"], "OK"],
    [["LRANGE","t","0","-1"], ["b","c","d"]],
    [["LTRIM","t","-100","100"], "OK"],
    [["LRANGE","t","0","-1"], ["b","c","d"]],
    [["LTRIM","t","1","1"], "OK"],
    [["LRANGE","t","0","-1"], ["c"]],
    [["LTRIM","t","5","10"], "OK"],
    [["EXISTS","t"], 0],
    [["RPUSH","t2","a","b","c"], 3],
    [["LTRIM","t2","2","1"], "OK"],
    [["EXISTS","t2"], 0],
    [["RPUSH","t3","a","b","c"], 3],
    [["LTRIM","t3","-1","-1"], "OK"],
    [["LRANGE","t3","0","-1"], ["c"]],
    [["LTRIM","t3","0","-2"], "OK"],
    [["EXISTS","t3"], 0],
    [["LTRIM","none","0","1"], "OK"],
    [["EXISTS","none"], 0],
    [["LTRIM","t3","x","1"], {"error":"ERR value is not an integer or out of range"}],
    [["LTRIM","none","x","1"], {"error":"ERR value is not an integer or out of range"}],
    [["SET","s","v"], "OK"],
    [["LTRIM","s","0","1"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["LTRIM","s","x","1"], {"error":"ERR value is not an integer or out of range"}],
    [["LTRIM","t","0"], {"error":"ERR wrong number of arguments for 'ltrim' command"}],
  ],
  "LREM": [
    [["RPUSH","r","a","b","a","c","a","b"], 6],
    [["LREM","r","2","a"], 2],
    [["LRANGE","r","0","-1"], ["b","c","a","b"]],
    [["LREM","r","-1","b"], 1],
    [["LRANGE","r","0","-1"], ["b","c","a"]],
    [["LREM","r","0","x"], 0],
    [["LREM","r","0","a"], 1],
    [["LRANGE","r","0","-1"], ["b","c"]],
    [["RPUSH","r2","a","x","a","x","a"], 5],
    [["LREM","r2","-2","a"], 2],
    [["LRANGE","r2","0","-1"], ["a","x","x"]],
    [["LREM","r2","100","x"], 2],
    [["LRANGE","r2","0","-1"], ["a"]],
    [["RPUSH","r3","a","a"], 2],
    [["LREM","r3","0","a"], 2],
    [["EXISTS","r3"], 0],
    [["LREM","none","0","a"], 0],
    [["LREM","r","x","a"], {"error":"ERR value is not an integer or out of range"}],
    [["LREM","none","x","a"], {"error":"ERR value is not an integer or out of range"}],
    [["LREM","r","-9223372036854775808","a"], {"error":"ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"} /* Redis 7.2; 7.0.15 answers 0 */],
    [["LREM","r","9223372036854775807","zz"], 0],
    [["SET","s","v"], "OK"],
    [["LREM","s","0","a"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["LREM","r","0"], {"error":"ERR wrong number of arguments for 'lrem' command"}],
  ],
  "LINSERT": [
    [["RPUSH","i","a","c"], 2],
    [["LINSERT","i","BEFORE","c","b"], 3],
    [["LINSERT","i","AFTER","c","d"], 4],
    [["LINSERT","i","before","a","z"], 5],
    [["LINSERT","i","after","d","end"], 6],
    [["LRANGE","i","0","-1"], ["z","a","b","c","d","end"]],
    [["LINSERT","i","BEFORE","missing","x"], -1],
    [["LINSERT","none","BEFORE","a","x"], 0],
    [["EXISTS","none"], 0],
    [["RPUSH","dup","p","x","p"], 3],
    [["LINSERT","dup","AFTER","p","y"], 4],
    [["LRANGE","dup","0","-1"], ["p","y","x","p"]],
    [["LINSERT","i","MIDDLE","a","x"], {"error":"ERR syntax error"}],
    [["LINSERT","none","MIDDLE","a","x"], {"error":"ERR syntax error"}],
    [["SET","s","v"], "OK"],
    [["LINSERT","s","BEFORE","a","x"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["LINSERT","i","BEFORE","a"], {"error":"ERR wrong number of arguments for 'linsert' command"}],
    [["LINSERT","i","BEFORE","a","x","y"], {"error":"ERR wrong number of arguments for 'linsert' command"}],
  ],
  "LPOS": [
    [["RPUSH","pos","a","b","c","1","2","3","c","c"], 8],
    [["LPOS","pos","c"], 2],
    [["LPOS","pos","c","RANK","1"], 2],
    [["LPOS","pos","c","RANK","2"], 6],
    [["LPOS","pos","c","RANK","-1"], 7],
    [["LPOS","pos","c","RANK","-2"], 6],
    [["LPOS","pos","c","RANK","4"], null],
    [["LPOS","pos","c","RANK","-4"], null],
    [["LPOS","pos","c","COUNT","2"], [2,6]],
    [["LPOS","pos","c","COUNT","0"], [2,6,7]],
    [["LPOS","pos","c","RANK","-1","COUNT","2"], [7,6]],
    [["LPOS","pos","c","RANK","2","COUNT","0"], [6,7]],
    [["LPOS","pos","c","MAXLEN","3"], 2],
    [["LPOS","pos","c","MAXLEN","2"], null],
    [["LPOS","pos","c","COUNT","0","MAXLEN","7"], [2,6]],
    [["LPOS","pos","c","RANK","-1","MAXLEN","1"], 7],
    [["LPOS","pos","c","RANK","-1","MAXLEN","3","COUNT","0"], [7,6]],
    [["LPOS","pos","c","rank","1","count","1","maxlen","0"], [2]],
    [["LPOS","pos","x"], null],
    [["LPOS","pos","x","COUNT","1"], []],
    [["LPOS","none","a"], null],
    [["LPOS","none","a","COUNT","1"], []],
    [["LPOS","none","a","RANK","0"], {"error":"ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"}],
    [["LPOS","pos","c","RANK","0"], {"error":"ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"}],
    [["LPOS","pos","c","COUNT","-1"], {"error":"ERR COUNT can't be negative"}],
    [["LPOS","pos","c","MAXLEN","-1"], {"error":"ERR MAXLEN can't be negative"}],
    [["LPOS","pos","c","RANK","x"], {"error":"ERR value is not an integer or out of range"}],
    [["LPOS","pos","c","COUNT","x"], {"error":"ERR COUNT can't be negative"}],
    [["LPOS","pos","c","MAXLEN","x"], {"error":"ERR MAXLEN can't be negative"}],
    [["LPOS","pos","c","RANK","-9223372036854775808"], {"error":"ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"} /* Redis 7.2; 7.0.15 answers 7 */],
    [["LPOS","pos","c","RANK"], {"error":"ERR syntax error"}],
    [["LPOS","pos","c","BOGUS","1"], {"error":"ERR syntax error"}],
    [["LPOS","pos","c","COUNT","1","RANK"], {"error":"ERR syntax error"}],
    [["SET","s","v"], "OK"],
    [["LPOS","s","a"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["LPOS","s","a","RANK","0"], {"error":"ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"}],
    [["LPOS","pos"], {"error":"ERR wrong number of arguments for 'lpos' command"}],
  ],
  "LMOVE RPOPLPUSH": [
    [["RPUSH","m1","a","b","c"], 3],
    [["LMOVE","m1","m2","LEFT","RIGHT"], "a"],
    [["LMOVE","m1","m2","RIGHT","LEFT"], "c"],
    [["LRANGE","m1","0","-1"], ["b"]],
    [["LRANGE","m2","0","-1"], ["c","a"]],
    [["LMOVE","m2","m2","left","right"], "c"],
    [["LRANGE","m2","0","-1"], ["a","c"]],
    [["LMOVE","m2","m2","RIGHT","LEFT"], "c"],
    [["LRANGE","m2","0","-1"], ["c","a"]],
    [["LMOVE","m2","m2","LEFT","LEFT"], "c"],
    [["LRANGE","m2","0","-1"], ["c","a"]],
    [["RPUSH","m1","x","y"], 3],
    [["RPOPLPUSH","m1","m1"], "y"],
    [["LRANGE","m1","0","-1"], ["y","b","x"]],
    [["RPOPLPUSH","m1","m3"], "x"],
    [["LRANGE","m3","0","-1"], ["x"]],
    [["RPUSH","one","z"], 1],
    [["LMOVE","one","two","LEFT","LEFT"], "z"],
    [["EXISTS","one"], 0],
    [["LRANGE","two","0","-1"], ["z"]],
    [["RPOPLPUSH","two","two"], "z"],
    [["LRANGE","two","0","-1"], ["z"]],
    [["LMOVE","none","m2","LEFT","LEFT"], null],
    [["RPOPLPUSH","none","m2"], null],
    [["EXISTS","none"], 0],
    [["LMOVE","m1","m2","UP","LEFT"], {"error":"ERR syntax error"}],
    [["LMOVE","m1","m2","LEFT","DOWN"], {"error":"ERR syntax error"}],
    [["LMOVE","none","m2","UP","LEFT"], {"error":"ERR syntax error"}],
    [["SET","s","v"], "OK"],
    [["LMOVE","m1","s","LEFT","LEFT"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["LRANGE","m1","0","-1"], ["y","b"]],
    [["LMOVE","s","m1","LEFT","LEFT"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["RPOPLPUSH","m1","s"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["RPOPLPUSH","s","m1"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["LMOVE","none","s","LEFT","LEFT"], null],
    [["RPOPLPUSH","none","s"], null],
    [["LMOVE","m1","m2","LEFT"], {"error":"ERR wrong number of arguments for 'lmove' command"}],
    [["RPOPLPUSH","m1"], {"error":"ERR wrong number of arguments for 'rpoplpush' command"}],
  ],
  "LMPOP": [
    [["RPUSH","mp1","a","b","c"], 3],
    [["RPUSH","mp2","x"], 1],
    [["LMPOP","2","none","mp1","LEFT"], ["mp1",["a"]]],
    [["LMPOP","1","mp1","RIGHT","COUNT","5"], ["mp1",["c","b"]]],
    [["EXISTS","mp1"], 0],
    [["LMPOP","2","mp1","mp2","left","count","1"], ["mp2",["x"]]],
    [["LMPOP","1","mp1","LEFT"], null],
    [["LMPOP","1","mp1","LEFT","COUNT","1"], null],
    [["RPUSH","mp3","a","b"], 2],
    [["LMPOP","1","mp3","RIGHT","COUNT","1"], ["mp3",["b"]]],
    [["LRANGE","mp3","0","-1"], ["a"]],
    [["LMPOP","0","x","LEFT"], {"error":"ERR numkeys should be greater than 0"}],
    [["LMPOP","-1","x","LEFT"], {"error":"ERR numkeys should be greater than 0"}],
    [["LMPOP","x","a","LEFT"], {"error":"ERR numkeys should be greater than 0"}],
    [["LMPOP","1","x","LEFT","COUNT","0"], {"error":"ERR count should be greater than 0"}],
    [["LMPOP","1","x","LEFT","COUNT","-1"], {"error":"ERR count should be greater than 0"}],
    [["LMPOP","1","x","LEFT","COUNT","x"], {"error":"ERR count should be greater than 0"}],
    [["LMPOP","2","x","LEFT"], {"error":"ERR syntax error"}],
    [["LMPOP","3","x","LEFT"], {"error":"ERR syntax error"}],
    [["LMPOP","1","x","MIDDLE"], {"error":"ERR syntax error"}],
    [["LMPOP","1","x","LEFT","COUNT"], {"error":"ERR syntax error"}],
    [["LMPOP","1","x","LEFT","COUNT","1","COUNT","2"], {"error":"ERR syntax error"}],
    [["LMPOP","1","x","LEFT","BOGUS"], {"error":"ERR syntax error"}],
    [["SET","s","v"], "OK"],
    [["LMPOP","1","s","LEFT"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["LMPOP","2","none","s","LEFT"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["RPUSH","mp4","q"], 1],
    [["LMPOP","2","mp4","s","LEFT"], ["mp4",["q"]]],
    [["LMPOP","1","x"], {"error":"ERR wrong number of arguments for 'lmpop' command"}],
  ],
  "blocking commands that need not wait": [
    [["RPUSH","b1","a","b","c"], 3],
    [["RPUSH","b2","z"], 1],
    [["BLPOP","none","b1","0"], ["b1","a"]],
    [["BRPOP","b2","b1","0"], ["b2","z"]],
    [["BLMOVE","b1","bd","LEFT","RIGHT","0"], "b"],
    [["BRPOPLPUSH","b1","bd","0"], "c"],
    [["LRANGE","bd","0","-1"], ["c","b"]],
    [["RPUSH","b3","1","2","3"], 3],
    [["BLMPOP","0","2","none","b3","RIGHT","COUNT","2"], ["b3",["3","2"]]],
    [["BLMPOP","0","1","b3","LEFT","COUNT","5"], ["b3",["1"]]],
    [["EXISTS","b3"], 0],
    [["BLPOP","none","0.1"], null],
    [["BRPOP","none","0.1"], null],
    [["BLMOVE","none","bd","LEFT","LEFT","0.1"], null],
    [["BRPOPLPUSH","none","bd","0.1"], null],
    [["BLMPOP","0.1","1","none","LEFT"], null],
    [["BLPOP","b2","x"], {"error":"ERR timeout is not a float or out of range"}],
    [["BLPOP","b2","-1"], {"error":"ERR timeout is negative"}],
    [["BLPOP","b2","1e400"], {"error":"ERR timeout is negative"}],
    [["BLMPOP","x","1","b2","LEFT"], {"error":"ERR timeout is not a float or out of range"}],
    [["BLMPOP","0","0","b2","LEFT"], {"error":"ERR numkeys should be greater than 0"}],
    [["BLMOVE","b2","bd","UP","LEFT","0"], {"error":"ERR syntax error"}],
    [["BLMOVE","b2","bd","LEFT","LEFT","x"], {"error":"ERR timeout is not a float or out of range"}],
    [["SET","s","v"], "OK"],
    [["BLPOP","s","0"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["BRPOP","none","s","0"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["BLMOVE","s","bd","LEFT","LEFT","0"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["BLMPOP","0","1","s","LEFT"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["BLPOP","s"], {"error":"ERR wrong number of arguments for 'blpop' command"}],
  ],
  "TTL, emptied lists, key commands": [
    [["RPUSH","k","a","b"], 2],
    [["EXPIRE","k","100"], 1],
    [["LPUSH","k","c"], 3],
    [["LSET","k","0","d"], "OK"],
    [["LRANGE","k","0","-1"], ["d","a","b"]],
    [["TTL","k"], near(100, 1)],
    [["RPOP","k","3"], ["b","a","d"]],
    [["EXISTS","k"], 0],
    [["TTL","k"], -2],
    [["RPUSH","k","x"], 1],
    [["TTL","k"], -1],
    [["TYPE","k"], "list"],
    [["OBJECT","ENCODING","k"], "quicklist"],
    [["RENAME","k","k2"], "OK"],
    [["TYPE","k"], "none"],
    [["LRANGE","k2","0","-1"], ["x"]],
    [["COPY","k2","k3"], 1],
    [["RPUSH","k3","y"], 2],
    [["LRANGE","k2","0","-1"], ["x"]],
    [["LRANGE","k3","0","-1"], ["x","y"]],
    [["SET","str","v"], "OK"],
    [["RENAME","k3","str"], "OK"],
    [["TYPE","str"], "list"],
    [["LRANGE","str","0","-1"], ["x","y"]],
    [["COPY","k2","str"], 0],
    [["COPY","k2","str","REPLACE"], 1],
    [["LRANGE","str","0","-1"], ["x"]],
    [["EXPIRE","k2","100"], 1],
    [["COPY","k2","k4"], 1],
    [["TTL","k4"], near(100, 1)],
    [["DEL","k2","str"], 2],
    [["EXISTS","k2","str"], 0],
    [["LLEN","k2"], 0],
    [["RPUSH","k2","fresh"], 1],
    [["LRANGE","k2","0","-1"], ["fresh"]],
    [["TTL","k2"], -1],
    [["RPUSH","gone","a"], 1],
    [["LREM","gone","1","a"], 1],
    [["EXISTS","gone"], 0],
    [["RPUSH","gone","a"], 1],
    [["LTRIM","gone","1","0"], "OK"],
    [["TYPE","gone"], "none"],
    [["RPUSH","gone","a"], 1],
    [["LMOVE","gone","gone2","LEFT","LEFT"], "a"],
    [["EXISTS","gone"], 0],
  ],
};

// Each group or test starts on an empty database.
describeReplyTable('list commands through ioredis', table);

describe('lists beyond the table', () => {
  const server = useServer();

  it('keys and elements are binary-safe', async () => {
    const c = await freshClient(server());
    const key = Buffer.from([0x6c, 0x00, 0xff]);
    const twin = Buffer.from([0x6c, 0x00, 0xfe]); // differs only after the NUL
    const a = Buffer.from([0x00, 0xff, 0x0d, 0x0a]);
    const b = Buffer.from([0xff]);
    const nul = Buffer.from([0x00]);
    const empty = Buffer.alloc(0);
    expect(await c.rpush(key, a, b, nul, a, empty)).toBe(5);
    expect(await c.rpush(twin, b)).toBe(1);
    expect(await c.lrangeBuffer(key, 0, -1)).toEqual([a, b, nul, a, empty]);
    expect(await c.lindexBuffer(key, -2)).toEqual(a);
    expect(await c.lpos(key, nul)).toBe(2);
    expect(await c.lpos(key, a, 'RANK', -1)).toBe(3);
    expect(await c.lpos(key, Buffer.from([0x00, 0xff]))).toBeNull(); // a prefix of a is not a
    expect(await c.linsert(key, 'AFTER', nul, Buffer.from('x\0y'))).toBe(6);
    expect(await c.lrem(key, 0, a)).toBe(2);
    expect(await c.lset(key, 0, Buffer.from([0xfe, 0x00]))).toBe('OK');
    expect(await c.lrangeBuffer(key, 0, -1)).toEqual([Buffer.from([0xfe, 0x00]), nul, Buffer.from('x\0y'), empty]);
    expect(await c.lmoveBuffer(key, twin, 'LEFT', 'RIGHT')).toEqual(Buffer.from([0xfe, 0x00]));
    expect(await c.rpoplpushBuffer(key, twin)).toEqual(empty);
    expect(await c.lrangeBuffer(twin, 0, -1)).toEqual([empty, b, Buffer.from([0xfe, 0x00])]);
    expect(await c.lpopBuffer(key, 5)).toEqual([nul, Buffer.from('x\0y')]);
    expect(await c.exists(key)).toBe(0);
    expect(await c.blpopBuffer(twin, 0)).toEqual([twin, empty]);
    expect(await c.callBuffer('LMPOP', '1', twin, 'RIGHT', 'COUNT', '1')).toEqual([twin, [Buffer.from([0xfe, 0x00])]]);
    expect(await c.lrangeBuffer(twin, 0, -1)).toEqual([b]);
  });

  it('long lists: trims and removals of more than 1024 elements, then pushes over the freed positions', async () => {
    const c = await freshClient(server());
    const model = Array.from({ length: 2500 }, (_, index) => `e${index}`);
    expect(await c.rpush('long', ...model)).toBe(2500);
    expect(await c.ltrim('long', 1200, -1)).toBe('OK'); // 1200 from the head
    model.splice(0, 1200);
    expect(await c.ltrim('long', 0, -1101)).toBe('OK'); // 1100 from the tail
    model.splice(-1100);
    expect(await c.llen('long')).toBe(model.length);
    expect(await c.lpush('long', 'x', 'y')).toBe(202);
    expect(await c.rpush('long', 'z')).toBe(203);
    model.unshift('y', 'x');
    model.push('z');
    expect(await c.lrange('long', 0, 3)).toEqual(['y', 'x', 'e1200', 'e1201']);
    expect(await c.lrange('long', -2, -1)).toEqual(['e1399', 'z']);
    expect(await c.lindex('long', 100)).toBe(model[100]);
    expect(await c.linsert('long', 'BEFORE', 'e1300', 'inserted')).toBe(204);
    model.splice(model.indexOf('e1300'), 0, 'inserted');
    expect(await c.lset('long', -3, 'set')).toBe('OK');
    model[model.length - 3] = 'set';
    expect(await c.lrem('long', -1, 'e1250')).toBe(1);
    model.splice(model.indexOf('e1250'), 1);
    expect(await c.lpos('long', 'inserted')).toBe(model.indexOf('inserted'));
    expect(await c.lrange('long', 0, -1)).toEqual(model);
    // Everything removed at once, then a new list under the same key: nothing old comes back.
    expect(await c.ltrim('long', 1, 0)).toBe('OK');
    expect(await c.exists('long')).toBe(0);
    expect(await c.rpush('long', 'new')).toBe(1);
    expect(await c.lrange('long', 0, -1)).toEqual(['new']);
    expect(await c.lindex('long', 1)).toBeNull();
  });

  it('an expired list is gone for every command, and a new list under its key starts empty', async () => {
    const c = await freshClient(server());
    expect(await c.rpush('exp', 'a', 'b', 'c')).toBe(3);
    expect(await c.pexpire('exp', 1)).toBe(1);
    await waitFor(async () => (await c.exists('exp')) === 0, 5000, 'the list to expire');
    expect(await c.llen('exp')).toBe(0);
    expect(await c.lrange('exp', 0, -1)).toEqual([]);
    expect(await c.lpushx('exp', 'x')).toBe(0);
    expect(await c.rpush('exp', 'd')).toBe(1);
    expect(await c.lrange('exp', 0, -1)).toEqual(['d']);
    expect(await c.ttl('exp')).toBe(-1);
  });

  it('inside MULTI the blocking pops do not wait: empty lists answer nil, lists with data pop at once', async () => {
    const c = await freshClient(server());
    const replies = await c
      .multi()
      .brpop('none', 0)
      .blmove('none', 'dst', 'LEFT', 'LEFT', 0)
      .brpoplpush('none', 'dst', 0)
      .call('BLMPOP', '0', '1', 'none', 'LEFT')
      .rpush('l', 'a', 'b', 'c')
      .blpop('l', 0)
      .call('BLMPOP', '0', '1', 'l', 'RIGHT', 'COUNT', '5')
      .blmove('l', 'dst', 'LEFT', 'LEFT', 0)
      .exec();
    expect(replies).toEqual([
      [null, null],
      [null, null],
      [null, null],
      [null, null],
      [null, 3],
      [null, ['l', 'a']],
      [null, ['l', ['c', 'b']]],
      [null, null],
    ]);
    expect(await c.exists('l', 'dst')).toBe(0);
    expect(server().server.blocking.blockedClients).toBe(0);
  });
});
