/* sink_stream: being written. */
