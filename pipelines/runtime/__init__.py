"""What every pipeline shares: the executor seam (``executor.py``), task maps (``task_map.py``), the Ray session
and metrics (``ray_session.py``, ``ray_stats.py``), the command-line end of a run (``cli.py``), input and shard
listing (``local_inputs.py``, ``shard_files.py``) and job submission (``submit_job.py``)."""
